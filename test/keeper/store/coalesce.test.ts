import { expect } from "chai";
import pg from "pg";
import { RAISE_META_SQL } from "../../../keeper/src/store/database";
import { coalesce } from "../../../keeper/src/store/postgres";

const INSERT = "INSERT INTO orders (hash, seq, status)\n VALUES (?, ?, 'open')";

describe("keeper store: a PostgreSQL flush's statements", () => {
  const client = new pg.Client(); // never connected: only its escaping is used

  it("sends consecutive rows of one insert as one statement and one raise per key, the highest, last", () => {
    const statements = coalesce(client, [
      { sql: INSERT, params: ["0x01", 0] },
      { sql: RAISE_META_SQL, params: ["nextSeq:1", "1"] },
      { sql: INSERT, params: ["0x0'2", 2] },
      { sql: RAISE_META_SQL, params: ["nextSeq:1", "3"] },
      { sql: INSERT, params: ["0x03", 1] },
      { sql: RAISE_META_SQL, params: ["nextSeq:1", "2"] },
      { sql: "UPDATE orders SET status = ? WHERE hash = ?", params: ["cancelled", "0x01"] },
    ]);
    expect(statements).to.deep.equal([
      "INSERT INTO orders (hash, seq, status)\n VALUES ('0x01', 0, 'open'),\n('0x0''2', 2, 'open'),\n('0x03', 1, 'open')",
      "UPDATE orders SET status = 'cancelled' WHERE hash = '0x01'",
      RAISE_META_SQL.replace("?, ?", "'nextSeq:1', '3'"),
    ]);
  });

  it("keeps every raise where it is when another write of the flush touches meta", () => {
    const other = {
      sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
      params: ["k", "v"],
    };
    const writes = [
      { sql: RAISE_META_SQL, params: ["nextSeq:1", "3"] },
      other,
      { sql: RAISE_META_SQL, params: ["nextSeq:1", "2"] },
    ];
    expect(coalesce(client, writes)).to.have.length(3);
  });
});
