import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// TLS for `keel sim --tls`: a self-signed certificate for `localhost` and `127.0.0.1` (written to a
/// file a client can trust), or a certificate and key the user supplies.
public enum SimTLS: Sendable, Equatable {
    /// Generate a certificate and write it (PEM) to `certificatePath`.
    case selfSigned(certificatePath: String)
    /// Use these PEM files.
    case files(certificatePath: String, keyPath: String)

    /// The server's TLS configuration; for `selfSigned`, the certificate is generated and written first.
    func serverConfiguration(host: String) throws -> TLSConfiguration {
        switch self {
        case .selfSigned(let path):
            let (certificatePEM, keyPEM) = try SimTLS.generate(host: host)
            let url = URL(fileURLWithPath: path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try certificatePEM.write(to: url, atomically: true, encoding: .utf8)
            return TLSConfiguration.makeServerConfiguration(
                certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem))],
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)))
        case .files(let certificatePath, let keyPath):
            return TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
        }
    }

    /// A P-256 certificate, valid from an hour ago for a year, for `localhost`, `127.0.0.1` and `host`.
    static func generate(host: String) throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("keel sim") }
        var names: [GeneralName] = [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))]
        let octets = host.split(separator: ".").compactMap { UInt8($0) }
        if octets.count == 4 && host != "127.0.0.1" { names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets)))) }
        if octets.count != 4 && host != "localhost" { names.append(.dnsName(host)) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3_600),
            notValidAfter: now.addingTimeInterval(365 * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }
}
