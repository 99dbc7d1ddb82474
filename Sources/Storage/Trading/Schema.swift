import Market

/// The two SQL dialects the one schema is written for.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres

    /// Exact decimals: SQLite would turn a `NUMERIC` column's "0.10" into a binary double, so it keeps text.
    var decimal: String { self == .sqlite ? "TEXT" : "NUMERIC" }
    var serialKey: String { self == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" }

    /// Statements are written with `?` for a value and `#` for an exact decimal; PostgreSQL numbers its
    /// parameters and casts the decimal text to `NUMERIC`.
    func placeholders(_ sql: String) -> String {
        var out = ""
        var n = 0
        for character in sql {
            switch character {
            case "?", "#":
                if self == .sqlite {
                    out.append("?")
                } else {
                    n += 1
                    out += character == "#" ? "$\(n)::numeric" : "$\(n)"
                }
            default:
                out.append(character)
            }
        }
        return out
    }
}

/// One bound value; decimals travel as their exact text.
public enum SQLValue: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    /// A derived statistic (a markout), never money.
    case real(Double)
    case null

    static func decimal(_ value: FixedDecimal?) -> SQLValue { value.map { .text("\($0)") } ?? .null }
    static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
}

public struct SQLStatement: Sendable {
    public var sql: String
    public var values: [SQLValue]

    public init(sql: String, values: [SQLValue]) {
        self.sql = sql
        self.values = values
    }
}

/// A schema change, applied once, in order, inside a transaction, and remembered in `keel_migrations`.
struct Migration: Sendable {
    var version: Int
    var name: String
    var statements: @Sendable (SQLDialect) -> [String]
}

enum Schema {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "orders, order events, fills, positions, PnL snapshots, risk events") { d in
            [
                """
                CREATE TABLE runs (run_id TEXT PRIMARY KEY, venue TEXT NOT NULL, symbol TEXT NOT NULL,
                  started_at BIGINT NOT NULL, ended_at BIGINT)
                """,
                """
                CREATE TABLE client_id_blocks (run_id TEXT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL,
                  reserved_at BIGINT NOT NULL, PRIMARY KEY (run_id, first_seq))
                """,
                """
                CREATE TABLE orders (client_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
                  price \(d.decimal) NOT NULL, qty \(d.decimal) NOT NULL, filled_qty \(d.decimal) NOT NULL, average_price \(d.decimal),
                  status TEXT NOT NULL, exchange_order_id TEXT, reason TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE order_events (id \(d.serialKey), client_id TEXT NOT NULL, time BIGINT NOT NULL, event TEXT NOT NULL,
                  status TEXT NOT NULL, price \(d.decimal), qty \(d.decimal), filled_qty \(d.decimal), detail TEXT NOT NULL)
                """,
                """
                CREATE TABLE fills (execution_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, order_id TEXT NOT NULL, run_id TEXT NOT NULL,
                  symbol TEXT NOT NULL, side TEXT NOT NULL, price \(d.decimal) NOT NULL, qty \(d.decimal) NOT NULL, fee \(d.decimal) NOT NULL,
                  is_maker INTEGER NOT NULL, time BIGINT NOT NULL)
                """,
                """
                CREATE TABLE positions (id \(d.serialKey), run_id TEXT NOT NULL, symbol TEXT NOT NULL, time BIGINT NOT NULL,
                  size \(d.decimal) NOT NULL, average_entry \(d.decimal))
                """,
                """
                CREATE TABLE pnl_snapshots (id \(d.serialKey), run_id TEXT NOT NULL, symbol TEXT NOT NULL, time BIGINT NOT NULL,
                  realised \(d.decimal) NOT NULL, unrealised \(d.decimal) NOT NULL, fees \(d.decimal) NOT NULL, net \(d.decimal) NOT NULL,
                  mark \(d.decimal))
                """,
                """
                CREATE TABLE risk_events (id \(d.serialKey), run_id TEXT NOT NULL, time BIGINT NOT NULL, from_state TEXT NOT NULL,
                  to_state TEXT NOT NULL, reasons TEXT NOT NULL)
                """,
            ]
        },
        Migration(version: 2, name: "indexes by client id and time") { _ in
            [
                "CREATE INDEX order_events_by_client ON order_events (client_id, id)",
                "CREATE INDEX fills_by_client ON fills (client_id)",
                "CREATE INDEX orders_by_run ON orders (run_id, created_at)",
                "CREATE INDEX pnl_by_time ON pnl_snapshots (run_id, time)",
            ]
        },
        Migration(version: 3, name: "candles") { d in
            [
                """
                CREATE TABLE candles (exchange TEXT NOT NULL, symbol TEXT NOT NULL, interval TEXT NOT NULL, start_ms BIGINT NOT NULL,
                  open \(d.decimal) NOT NULL, high \(d.decimal) NOT NULL, low \(d.decimal) NOT NULL, close \(d.decimal) NOT NULL,
                  volume \(d.decimal) NOT NULL, turnover \(d.decimal) NOT NULL, buy_volume \(d.decimal), buy_turnover \(d.decimal), trades BIGINT,
                  PRIMARY KEY (exchange, symbol, interval, start_ms))
                """,
            ]
        },
        Migration(version: 4, name: "markouts") { d in
            [
                """
                CREATE TABLE markouts (execution_id TEXT NOT NULL, horizon_s INTEGER NOT NULL, side TEXT NOT NULL,
                  bps \(d == .sqlite ? "REAL" : "DOUBLE PRECISION") NOT NULL, time BIGINT NOT NULL, PRIMARY KEY (execution_id, horizon_s))
                """,
            ]
        },
    ]

    static let tables = ["runs", "client_id_blocks", "orders", "order_events", "fills", "positions", "pnl_snapshots", "risk_events", "candles",
                         "markouts"]

    static func statement(for record: TradingRecord, _ dialect: SQLDialect) -> SQLStatement {
        func make(_ sql: String, _ values: [SQLValue]) -> SQLStatement { SQLStatement(sql: dialect.placeholders(sql), values: values) }
        switch record {
        case .runStarted(let run, let venue, let symbol, let time):
            return make("INSERT INTO runs (run_id, venue, symbol, started_at) VALUES (?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
                        [.text(run), .text(venue), .text(symbol), .integer(time)])
        case .runEnded(let run, let time):
            return make("UPDATE runs SET ended_at = ? WHERE run_id = ?", [.integer(time), .text(run)])
        case .order(let o):
            return make("""
                INSERT INTO orders (client_id, run_id, symbol, side, price, qty, filled_qty, average_price, status, exchange_order_id,
                  reason, created_at, updated_at) VALUES (?, ?, ?, ?, #, #, #, #, ?, ?, ?, ?, ?)
                ON CONFLICT (client_id) DO UPDATE SET price = excluded.price, qty = excluded.qty, filled_qty = excluded.filled_qty,
                  average_price = excluded.average_price, status = excluded.status, exchange_order_id = excluded.exchange_order_id,
                  reason = excluded.reason, updated_at = excluded.updated_at
                """, [.text(o.clientId), .text(o.run), .text(o.symbol), .text(o.side.rawValue), .decimal(o.price), .decimal(o.qty),
                      .decimal(o.filledQty), .decimal(o.averagePrice), .text(o.status), .text(o.exchangeOrderId), .text(o.reason),
                      .integer(o.createdTime), .integer(o.updatedTime)])
        case .orderEvent(let e):
            return make("""
                INSERT INTO order_events (client_id, time, event, status, price, qty, filled_qty, detail) VALUES (?, ?, ?, ?, #, #, #, ?)
                """, [.text(e.clientId), .integer(e.time), .text(e.event), .text(e.status), .decimal(e.price), .decimal(e.qty),
                      .decimal(e.filledQty), .text(e.detail)])
        case .fill(let f):
            return make("""
                INSERT INTO fills (execution_id, client_id, order_id, run_id, symbol, side, price, qty, fee, is_maker, time)
                VALUES (?, ?, ?, ?, ?, ?, #, #, #, ?, ?) ON CONFLICT (execution_id) DO NOTHING
                """, [.text(f.executionId), .text(f.clientId), .text(f.orderId), .text(f.run), .text(f.symbol), .text(f.side.rawValue),
                      .decimal(f.price), .decimal(f.qty), .decimal(f.fee), .integer(f.isMaker ? 1 : 0), .integer(f.time)])
        case .position(let p):
            return make("INSERT INTO positions (run_id, symbol, time, size, average_entry) VALUES (?, ?, ?, #, #)",
                        [.text(p.run), .text(p.symbol), .integer(p.time), .decimal(p.size), .decimal(p.averageEntry)])
        case .pnl(let p):
            return make("""
                INSERT INTO pnl_snapshots (run_id, symbol, time, realised, unrealised, fees, net, mark) VALUES (?, ?, ?, #, #, #, #, #)
                """, [.text(p.run), .text(p.symbol), .integer(p.time), .decimal(p.realised), .decimal(p.unrealised), .decimal(p.fees),
                      .decimal(p.net), .decimal(p.mark)])
        case .risk(let r):
            return make("INSERT INTO risk_events (run_id, time, from_state, to_state, reasons) VALUES (?, ?, ?, ?, ?)",
                        [.text(r.run), .integer(r.time), .text(r.from), .text(r.to), .text(r.reasons)])
        case .markout(let executionId, let side, let horizon, let bps, let time):
            return make("INSERT INTO markouts (execution_id, horizon_s, side, bps, time) VALUES (?, ?, ?, ?, ?) ON CONFLICT (execution_id, horizon_s) DO NOTHING",
                        [.text(executionId), .integer(Int64(horizon)), .text(side.rawValue), .real(bps), .integer(time)])
        case .candle(let exchange, let symbol, let c):
            let split = c.takerSplit
            return make("""
                INSERT INTO candles (exchange, symbol, interval, start_ms, open, high, low, close, volume, turnover, buy_volume, buy_turnover, trades)
                VALUES (?, ?, '1m', ?, #, #, #, #, #, #, #, #, ?)
                ON CONFLICT (exchange, symbol, interval, start_ms) DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low,
                  close = excluded.close, volume = excluded.volume, turnover = excluded.turnover, buy_volume = excluded.buy_volume,
                  buy_turnover = excluded.buy_turnover, trades = excluded.trades
                """, [.text(exchange), .text(symbol), .integer(c.start / 1_000_000), .decimal(c.open), .decimal(c.high), .decimal(c.low),
                      .decimal(c.close), .decimal(c.volume), .decimal(c.turnover), .decimal(split ? c.buyVolume : nil),
                      .decimal(split ? c.buyTurnover : nil), split ? .integer(Int64(c.trades)) : .null])
        }
    }

    static func reserve(run: String, first: Int64, last: Int64, time: Int64, _ dialect: SQLDialect) -> SQLStatement {
        SQLStatement(sql: dialect.placeholders("INSERT INTO client_id_blocks (run_id, first_seq, last_seq, reserved_at) VALUES (?, ?, ?, ?)"),
                     values: [.text(run), .integer(first), .integer(last), .integer(time)])
    }
}
