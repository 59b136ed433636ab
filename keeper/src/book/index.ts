/** The matching engine: one `OrderBook` per market. See keeper/README.md, "Book". */
export { OrderBook } from "./book";
export * from "./types";
