import ArgumentParser
import Foundation
import ExchangeSim
import Logging
import Market

/// `keel sim`: a Bybit V5-compatible exchange on loopback.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run a Bybit V5- or Binance USD-M-compatible exchange on loopback: WebSocket and REST on --port, control API on --control-port.",
        discussion: """
        Clients swap only the host. Bybit: ws://HOST:PORT/v5/public/linear, /v5/private, /v5/trade and \
        http://HOST:PORT/v5/…. Binance USD-M (--exchange binance-usdm): ws://HOST:PORT/stream?streams=…, \
        /ws/<stream> and http://HOST:PORT/fapi/v1/…. When listening it prints one JSON line on stdout with the bound ports; \
        logs go to stderr. Stops cleanly on SIGTERM or SIGINT.
        """
    )

    @Option(help: "Protocol to speak: bybit (V5 linear, with order entry) or binance-usdm (market data).")
    var exchange = "bybit"

    @Option(help: "Binance: seconds between the server's WebSocket pings (Binance: 180).")
    var pingInterval = 180.0

    @Option(help: "Binance: seconds after which a connection is closed, as Binance does at 24 h (default 86400).")
    var connectionLifetime = 86_400.0

    @Option(help: "Address to listen on (loopback by default).")
    var host = "127.0.0.1"

    @Option(help: "Port for WebSocket and REST (0 picks a free port).")
    var port = 9100

    @Option(help: "Port for the control API (default: --port + 1).")
    var controlPort: Int?

    @Option(help: "Seed of the synthetic market flow: the same seed replays the same market.")
    var seed: UInt64 = 1

    @Option(help: "Seeded past before the start, served by the kline endpoints (e.g. 2d, 6h; 0 for none).")
    var history = "2d"

    @Option(name: .customLong("account"), help: "An account as KEY:SECRET (repeatable). Default: keel-demo-key:keel-demo-secret.")
    var accounts: [String] = []

    @Option(help: "Starting USDT balance of each account.")
    var balance = "100000"

    @Option(help: "Milliseconds between market steps (book publishing cadence).")
    var stepMs = 20

    @Option(help: "Serve this recording (plain or .gz; raw JSON or `<local_ns> <json>` lines) instead of the synthetic market.")
    var replay: String?

    @Option(help: "Exchange of the --replay recording: bybit or binance-usdm (transcoded to Bybit messages).")
    var replayExchange = "bybit"

    @Option(help: "Replay speed: 1 real time, 10 ten times faster, 0 as fast as possible.")
    var speed = 1.0

    @Option(help: "JSON config: accounts, extra instruments, flow parameters, limits (see the README).")
    var config: String?

    @Option(help: "A fault schedule: one JSON fault a line with \"at\" seconds after start, e.g. {\"at\":30,\"kind\":\"stall\",\"seconds\":15}.")
    var faults: String?

    @Flag(help: "Serve wss:// and https:// with a self-signed certificate for localhost and 127.0.0.1 (written to --cert-out).")
    var tls = false

    @Option(help: "Where --tls writes its certificate (PEM) for clients to trust.")
    var certOut = "/tmp/keel-sim/cert.pem"

    @Option(help: "PEM certificate chain to serve instead of a generated one (needs --key; implies TLS).")
    var cert: String?

    @Option(help: "PEM private key of --cert.")
    var key: String?

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0–65535") }
        if let controlPort { guard (0...65_535).contains(controlPort) else { throw ValidationError("--control-port must be 0–65535") } }
        guard SimVenue(rawValue: exchange) != nil else { throw ValidationError("--exchange must be bybit or binance-usdm") }
        guard pingInterval > 0, connectionLifetime > 0 else { throw ValidationError("--ping-interval and --connection-lifetime must be positive seconds") }
        guard let past = DurationText.seconds(history), past >= 0, past <= 30 * 86_400 else {
            throw ValidationError("--history must be a duration up to 30d, e.g. 2d, 6h or 0")
        }
        guard (1...1_000).contains(stepMs) else { throw ValidationError("--step-ms must be 1–1000") }
        guard ReplayMarket.Source(rawValue: replayExchange) != nil else { throw ValidationError("--replay-exchange must be bybit or binance-usdm") }
        guard speed >= 0 else { throw ValidationError("--speed must be 0 (as fast as possible) or positive") }
        guard (cert == nil) == (key == nil) else { throw ValidationError("--cert and --key go together (PEM certificate chain and its private key)") }
        guard (try? FixedDecimal(parsing: balance))?.signum == 1 else { throw ValidationError("--balance must be a positive decimal, e.g. 100000") }
        for account in accounts where account.split(separator: ":", maxSplits: 1).count != 2 {
            // Never echo the value: it holds a secret.
            throw ValidationError("--account must be KEY:SECRET (one colon between a non-empty key and secret)")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var configuration = SimConfiguration()
        configuration.venue = SimVenue(rawValue: exchange)!
        configuration.binancePingSeconds = pingInterval
        configuration.connectionLifetimeNanoseconds = Int64(connectionLifetime * 1e9)
        configuration.host = host
        configuration.port = port
        configuration.controlPort = controlPort
        configuration.seed = seed
        configuration.historyMinutes = Int((DurationText.seconds(history) ?? 0) / 60)
        configuration.stepMilliseconds = stepMs
        if let cert, let key {
            configuration.tls = .files(certificatePath: cert, keyPath: key)
        } else if tls {
            configuration.tls = .selfSigned(certificatePath: certOut)
        }
        if let replay {
            configuration.replay = ReplayConfiguration(path: replay, source: ReplayMarket.Source(rawValue: replayExchange)!, speed: speed)
        }
        if let faults {
            do {
                configuration.faultSchedule = try FaultSchedule(text: try String(contentsOfFile: faults, encoding: .utf8))
            } catch let error as FaultSchedule.ParseError {
                throw ValidationError("--faults \(faults): \(error)")
            } catch {
                throw ValidationError("--faults \(faults): cannot read the file (\(error.localizedDescription))")
            }
        }
        let secure = configuration.tls != nil
        let caFile: String? = if case .selfSigned(let path) = configuration.tls { path } else { nil }
        let startingBalance = try FixedDecimal(parsing: balance)
        if let config {
            do throws(SimConfigFile.LoadError) {
                try SimConfigFile.load(path: config).apply(to: &configuration)
            } catch {
                throw ValidationError(error.description)
            }
        }
        if !accounts.isEmpty {
            configuration.accounts = accounts.map { entry in
                let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
                return SimAccountConfig(apiKey: parts[0], secret: parts[1], balance: startingBalance)
            }
        } else if configuration.accounts == [.demo] {
            configuration.accounts = [SimAccountConfig(apiKey: SimAccountConfig.demo.apiKey, secret: SimAccountConfig.demo.secret, balance: startingBalance)]
        }
        let server = SimServer(configuration: configuration)
        let host = self.host
        let venue = configuration.venue
        try await server.run { ports in
            var out = JSONWriter()
            out.beginObject()
            out.field("event", "sim_listening")
            out.field("host", host)
            out.field("port", ports.main)
            out.field("control_port", ports.control)
            out.field("exchange", venue.rawValue)
            out.field("public_ws", "\(secure ? "wss" : "ws")://\(host):\(ports.main)\(venue == .bybit ? "/v5/public/linear" : "")")
            out.field("rest", "\(secure ? "https" : "http")://\(host):\(ports.main)")
            if let caFile { out.field("ca_file", caFile) }
            out.field("control", "http://\(host):\(ports.control)")
            out.endObject()
            print(out.string)
            fflushStdout()
        }
    }
}
