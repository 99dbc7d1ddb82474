import Bybit
import Connector
import Runtime
import Storage

extension ConnectorSettings {
    /// The raw-data recorder as the `recording.*` keys set it up.
    var recorderConfiguration: RecorderConfiguration {
        var recording = RecorderConfiguration(directory: recordingPath)
        recording.flushInterval = Int64(recordingFlushInterval * 1e9)
        recording.maxBytes = recordingMaxBytes
        recording.minFreeBytes = recordingMinFreeBytes
        return recording
    }
}

extension FrameRecorder {
    /// A Bybit public session's frame tap: each frame, before it is parsed, into its topic's symbol's file.
    var bybitFrameTap: @Sendable (UnsafeRawBufferPointer, Int64) -> Void {
        { [self] frame, receiveTime in record(frame, symbol: BybitDecoder.topicSymbol(frame) ?? "", receiveTime: receiveTime) }
    }
}
