import Foundation

/// A file with this text in the temporary directory, for a test to hand to code that reads files;
/// the caller removes it.
public func temporaryFile(_ text: String, suffix: String = ".yaml") throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("keel-test-\(UUID().uuidString)\(suffix)")
    try Data(text.utf8).write(to: url)
    return url.path
}
