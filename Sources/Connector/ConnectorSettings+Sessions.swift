import Runtime

/// The connector's sessions as its settings describe them: Bybit's (`keel connector bybit`) and
/// Binance USD-M's (`keel connector binance-usdm`).
extension ConnectorSettings {
    /// The sessions' configuration. URLs not given are Bybit's mainnet ones, or testnet's with `testnet`.
    public func options(credentials: Credentials?) -> ConnectorOptions {
        let host = testnet ? "-testnet" : ""
        var publicSession = PublicSessionConfiguration(url: "", symbols: symbols, depth: depth)
        publicSession.socket = socket(publicURL ?? "wss://stream\(host).bybit.com/v5/public/linear")
        publicSession.bookStaleAfter = ConnectorSettings.duration(bookStaleAfter)
        publicSession.tradeStaleAfter = ConnectorSettings.duration(tradeStaleAfter)
        var options = ConnectorOptions(
            publicSession: publicSession, privateSocket: socket(privateURL ?? "wss://stream\(host).bybit.com/v5/private"),
            tradeSocket: socket(tradeURL ?? "wss://stream\(host).bybit.com/v5/trade"), rest: rest(restURL ?? "https://api\(host).bybit.com"),
            credentials: credentials)
        options.orderEntry.submitTimeout = ConnectorSettings.duration(submitTimeout)
        options.orderEntry.rateLimit = orderRateLimit
        options.orderEntry.rateLimitReserve = rateLimitReserve
        options.orderEntry.reconcileAttempts = reconcileAttempts
        options.orderEntry.dcpWindow = dcpWindow
        options.statsInterval = ConnectorSettings.duration(statsInterval)
        options.backfill = backfill()
        return options
    }

    /// How a kline backfill spends the exchange's limits.
    public func backfill() -> BackfillConfiguration {
        var backfill = BackfillConfiguration()
        backfill.rateLimitWait = ConnectorSettings.duration(rateLimitWait)
        backfill.attempts = reconcileAttempts
        backfill.backoff = .milliseconds(reconnectBaseMilliseconds)
        // The IP's 2,400 a minute, less what the book snapshots keep for themselves.
        backfill.weightPerMinute = max(2_400 - binanceSnapshotWeightPerMinute, 20)
        return backfill
    }

    /// `keel connector binance-usdm`'s sessions. URLs not given are Binance's USD-M mainnet ones.
    public func binanceOptions() -> BinanceConnectorOptions {
        var socket = socket(binancePublicURL ?? "wss://fstream.binance.com")
        // Binance pings from its side; ours at the WebSocket level find a dead connection sooner (the
        // app-level ping settings are Bybit's and go unused here).
        socket.webSocketPing = ConnectorSettings.duration(pingInterval)
        var session = BinanceSessionConfiguration(socket: socket, rest: rest(binanceRestURL ?? "https://fapi.binance.com"), symbols: symbols)
        session.depthStream = binanceDepthSpeed == "250ms" ? "@depth" : "@depth@" + binanceDepthSpeed
        session.bookStaleAfter = ConnectorSettings.duration(bookStaleAfter)
        session.tradeStaleAfter = ConnectorSettings.duration(tradeStaleAfter)
        session.rotateAfter = ConnectorSettings.duration(binanceRotateAfter)
        session.snapshotWeightPerMinute = binanceSnapshotWeightPerMinute
        var options = BinanceConnectorOptions(session: session)
        options.statsInterval = ConnectorSettings.duration(statsInterval)
        options.lookupAttempts = reconcileAttempts
        options.backfill = backfill()
        return options
    }

    /// A WebSocket session's settings, the same for every exchange: certificates, pings, backoff.
    func socket(_ url: String) -> SocketConfiguration {
        var socket = SocketConfiguration(url: url)
        socket.caFile = caFile
        socket.pingInterval = ConnectorSettings.duration(pingInterval)
        socket.pongTimeout = ConnectorSettings.duration(pongTimeout)
        socket.reconnect = ReconnectPolicy(base: .milliseconds(reconnectBaseMilliseconds), cap: .milliseconds(reconnectCapMilliseconds))
        return socket
    }

    /// The REST client's settings (`connection_pool.*`), the same for every exchange.
    func rest(_ baseURL: String) -> RestConfiguration {
        var rest = RestConfiguration(baseURL: baseURL)
        rest.caFile = caFile
        rest.requestTimeout = ConnectorSettings.duration(requestTimeout)
        rest.connectionsPerHost = min(connectionsPerHost, connections)
        rest.keepAlive = ConnectorSettings.duration(keepAlive)
        rest.preWarmedConnections = preWarmedConnections
        return rest
    }
}
