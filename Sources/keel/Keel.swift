import ArgumentParser

@main
struct Keel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel",
        abstract: "Market-making and market-data engine for crypto perpetual futures.",
        subcommands: [RunCommand.self, DemoCommand.self, ConfigCommand.self, BookCommand.self, ContextCommand.self, BackfillCommand.self, CalibrateCommand.self, RecordCommand.self, BacktestCommand.self, BenchCommand.self, SimCommand.self, ConnectorCommandLine.self, SoakCommand.self]
    )
}
