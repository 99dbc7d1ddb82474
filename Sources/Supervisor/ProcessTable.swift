import Foundation

/// What `/proc` says about processes: who belongs to a process group, who is whose child. Used to
/// prove a stopped connector left nothing behind (its group is empty) and that the bot holds no
/// zombies.
public enum ProcessTable {
    public struct Entry: Sendable, Equatable {
        public var pid: Int32
        public var state: Character
        public var parent: Int32
        public var group: Int32
    }

    /// Every process `/proc` lists now.
    public static func entries() -> [Entry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name in Int32(name).flatMap(entry) }
    }

    /// One process from `/proc/<pid>/stat` (`pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses).
    public static func entry(_ pid: Int32) -> Entry? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
              let close = data.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = data[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count >= 3, let state = fields[0].first,
              let parent = Int32(String(decoding: fields[1], as: UTF8.self)),
              let group = Int32(String(decoding: fields[2], as: UTF8.self)) else { return nil }
        return Entry(pid: pid, state: Character(UnicodeScalar(state)), parent: parent, group: group)
    }

    /// Processes in group `group` (a connector child leads its own).
    public static func members(ofGroup group: Int32) -> [Entry] { entries().filter { $0.group == group } }

    /// The direct children of `parent`; zombies have state `Z`.
    public static func children(of parent: Int32 = getpid()) -> [Entry] { entries().filter { $0.parent == parent } }
}
