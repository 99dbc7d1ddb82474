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
        guard let fields = statFields(pid), fields.count >= 3, let state = fields[0].first,
              let parent = Int32(fields[1]), let group = Int32(fields[2]) else { return nil }
        return Entry(pid: pid, state: state, parent: parent, group: group)
    }

    /// The fields of `/proc/<pid>/stat` after the command (`comm` may hold spaces and parentheses, so the
    /// split starts after its last `)`): index 0 is the state (field 3), 1 the parent, 2 the group, …
    static func statFields(_ pid: Int32) -> [String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
              let close = data.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        return data[(close + 1)...].split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Processes in group `group` (a connector child leads its own).
    public static func members(ofGroup group: Int32) -> [Entry] { entries().filter { $0.group == group } }

    /// The direct children of `parent`; zombies have state `Z`.
    public static func children(of parent: Int32 = getpid()) -> [Entry] { entries().filter { $0.parent == parent } }
}

/// One process's resources from `/proc/<pid>`: CPU (user, system), memory (RSS, VMS), threads, open
/// descriptors, disk I/O (`/proc/<pid>/io`; zero where not readable).
public struct ProcessResources: Sendable, Equatable, Codable {
    public var pid: Int32
    public var userSeconds: Double
    public var systemSeconds: Double
    public var rssBytes: Int64
    /// The anonymous part of the RSS (`RssAnon`: heap, stacks) — what a leak grows. The rest is file-backed
    /// (the binary's and libraries' pages as they are touched), which cannot leak. Nil when not read.
    public var anonBytes: Int64?
    public var vmsBytes: Int64
    public var threads: Int
    public var openFiles: Int
    public var readBytes: Int64
    public var writeBytes: Int64

    public init(pid: Int32, userSeconds: Double, systemSeconds: Double, rssBytes: Int64, anonBytes: Int64? = nil, vmsBytes: Int64, threads: Int,
                openFiles: Int, readBytes: Int64, writeBytes: Int64) {
        self.pid = pid
        self.anonBytes = anonBytes
        self.userSeconds = userSeconds
        self.systemSeconds = systemSeconds
        self.rssBytes = rssBytes
        self.vmsBytes = vmsBytes
        self.threads = threads
        self.openFiles = openFiles
        self.readBytes = readBytes
        self.writeBytes = writeBytes
    }

    /// Nil when the process is gone.
    public static func read(_ pid: Int32) -> ProcessResources? {
        // State is field 3 (index 0), so utime (14) is at index 11, stime 12, threads (20) 17, vsize (23) 20,
        // rss in pages (24) 21.
        guard let fields = ProcessTable.statFields(pid), fields.count > 21 else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Int64(sysconf(Int32(_SC_PAGESIZE)))
        var io: [String: Int64] = [:]
        if let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":")
                if parts.count == 2 { io[String(parts[0])] = Int64(parts[1].trimmingCharacters(in: .whitespaces)) }
            }
        }
        var anon: Int64?
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("RssAnon:") }) {
            anon = (Int64(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return ProcessResources(
            pid: pid, userSeconds: (Double(fields[11]) ?? 0) / ticks, systemSeconds: (Double(fields[12]) ?? 0) / ticks,
            rssBytes: (Int64(fields[21]) ?? 0) * page, anonBytes: anon, vmsBytes: Int64(fields[20]) ?? 0, threads: Int(fields[17]) ?? 0,
            openFiles: (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0,
            readBytes: io["read_bytes"] ?? 0, writeBytes: io["write_bytes"] ?? 0)
    }

    /// The machine's available memory (`MemAvailable` in /proc/meminfo), bytes.
    public static func memoryAvailable() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }) else { return 0 }
        return (Int64(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Bytes received and sent on an interface (`lo`: the soak's whole traffic is on loopback), from /proc/net/dev.
    public static func network(_ interface: String = "lo") -> (received: Int64, sent: Int64) {
        guard let text = try? String(contentsOfFile: "/proc/net/dev", encoding: .utf8) else { return (0, 0) }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == interface else { continue }
            let numbers = parts[1].split(separator: " ").compactMap { Int64($0) }
            if numbers.count > 8 { return (numbers[0], numbers[8]) }
        }
        return (0, 0)
    }
}
