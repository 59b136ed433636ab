import { expect } from "chai";
import pg from "pg";
import { coalesce } from "../../../keeper/src/store/postgres";

describe("keeper store: the literals of a PostgreSQL flush", () => {
  const client = new pg.Client(); // never connected: only its escaping is used

  it("inlines every parameter as the driver escapes it: quotes, backslashes, numbered parameters, nulls", () => {
    const strings = ["0xab", "it's", "back\\slash", "both ' and \\", "", "?", "?1", "naïve"];
    for (const s of strings) {
      const [statement] = coalesce(client, [
        { sql: "UPDATE orders SET reason = ? WHERE hash = ?", params: [s, "0x01"] },
      ]);
      expect(statement, s).to.equal(`UPDATE orders SET reason = ${client.escapeLiteral(s)} WHERE hash = '0x01'`);
    }
    const [numbered] = coalesce(client, [
      { sql: "UPDATE t SET a = ?2, b = ?1, c = ?, d = ?, e = ?", params: [1n, null, 2.5, true, undefined] },
    ]);
    expect(numbered).to.equal("UPDATE t SET a = NULL, b = 1, c = 1, d = NULL, e = 2.5");
  });
});
