/**
 * The price chart: candles built from the market's trades (candles.ts), drawn by lightweight-charts,
 * which is loaded after the first render so that it never delays the book.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { IChartApi, ISeriesApi, UTCTimestamp } from "lightweight-charts";
import { candlesOf } from "../candles";
import { marketPlaces, safeLocale } from "../format";
import { useValue } from "../hooks";
import type { Page } from "../page";

const INTERVALS = [
  { seconds: 10, label: "10s" },
  { seconds: 60, label: "1m" },
  { seconds: 300, label: "5m" },
] as const;

export function PriceChart({ page }: { page: Page }) {
  const market = useValue(page.market.selected);
  const tape = useValue(page.market.tape(market.id));
  const [interval, setCandleSeconds] = useState<number>(INTERVALS[0].seconds);
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<{ chart: IChartApi; series: ISeriesApi<"Candlestick"> } | undefined>(undefined);
  const [ready, setReady] = useState(0);
  /** The interval the view was last fitted to: fit once per chart and interval, then leave zoom and scroll to the person. */
  const fitted = useRef<number | undefined>(undefined);

  useEffect(() => {
    let cancelled = false;
    void import("lightweight-charts").then(({ createChart, CandlestickSeries, ColorType }) => {
      if (cancelled || container.current === null) return;
      const decimals = marketPlaces(market).price;
      const created = createChart(container.current, {
        autoSize: true,
        localization: { locale: safeLocale() },
        layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: "#9aa4b2", fontSize: 11 },
        grid: { vertLines: { color: "#1c2433" }, horzLines: { color: "#1c2433" } },
        timeScale: { timeVisible: true, secondsVisible: true, borderColor: "#2a3344", maxBarSpacing: 24 },
        rightPriceScale: { borderColor: "#2a3344" },
      });
      const series = created.addSeries(CandlestickSeries, {
        upColor: "#26a69a",
        downColor: "#ef5350",
        wickUpColor: "#26a69a",
        wickDownColor: "#ef5350",
        borderVisible: false,
        priceFormat: { type: "price", precision: decimals, minMove: 10 ** -decimals },
      });
      chart.current = { chart: created, series };
      fitted.current = undefined;
      setReady((n) => n + 1);
    });
    return () => {
      cancelled = true;
      chart.current?.chart.remove();
      chart.current = undefined;
    };
  }, [market]);

  useEffect(() => {
    if (chart.current === undefined) return;
    // lightweight-charts shows UTC: shift the times by the local offset so that the axis reads local time.
    const offset = -new Date().getTimezoneOffset() * 60;
    const candles = candlesOf(tape, market, interval, offset);
    chart.current.series.setData(candles.map((c) => ({ ...c, time: c.time as UTCTimestamp })));
    if (candles.length > 0 && fitted.current !== interval) {
      chart.current.chart.timeScale().fitContent();
      fitted.current = interval;
    }
  }, [tape, interval, ready, market]);

  return (
    <section class="panel chart" data-testid="price-chart">
      <div class="panel-head">
        <h2>
          {market.name} <span class="muted">price from trades</span>
        </h2>
        <div class="segmented" role="group" aria-label="Candle interval">
          {INTERVALS.map((i) => (
            <button key={i.seconds} aria-pressed={interval === i.seconds} onClick={() => setCandleSeconds(i.seconds)}>
              {i.label}
            </button>
          ))}
        </div>
      </div>
      <div class="chart-wrap">
        <div class="chart-box" ref={container} />
        {tape.length === 0 && <p class="muted overlay">No trades yet</p>}
      </div>
    </section>
  );
}
