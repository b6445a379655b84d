package redshift

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// SSL modes, with libpq's meaning.
const (
	// SSLVerifyFull checks the certificate chain and that the certificate names the host. Redshift
	// certificates chain to public roots, so the system roots suffice. The default.
	SSLVerifyFull = "verify-full"
	// SSLVerifyCA checks the chain but not the host name (a cluster reached through an IP
	// address or a tunnel).
	SSLVerifyCA = "verify-ca"
	// SSLRequire encrypts without checking the certificate, unless a root CA is given: then it
	// checks the chain, like verify-ca, as libpq does.
	SSLRequire = "require"
	// SSLDisable sends everything in clear text; for local tests only.
	SSLDisable = "disable"
)

// tlsConfig builds the TLS configuration of a connection to host in mode. roots nil means the
// system roots. It returns nil for SSLDisable.
//
// It is built here rather than by pgx from sslmode and sslrootcert so that a private CA can be
// given as PEM text and no PG* environment variable of the process changes the checks.
func tlsConfig(mode, host string, roots *x509.CertPool) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	// SNI carries host names only (RFC 6066).
	if net.ParseIP(host) == nil {
		cfg.ServerName = host
	}
	switch mode {
	case SSLDisable:
		return nil, nil
	case SSLVerifyFull, "":
		cfg.ServerName = host
		return cfg, nil
	case SSLRequire:
		if roots == nil {
			cfg.InsecureSkipVerify = true
			return cfg, nil
		}
		fallthrough
	case SSLVerifyCA:
		// Go checks chain and host name together; skip both and check the chain alone.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
		return cfg, nil
	}
	return nil, fmt.Errorf("unknown sslmode %q (want verify-full, verify-ca, require or disable)", mode)
}

// rootCAs reads a root CA option: PEM text, or the path of a PEM file. Empty means the system
// roots (nil).
func rootCAs(rootCA string) (*x509.CertPool, error) {
	if rootCA == "" {
		return nil, nil
	}
	pem := []byte(rootCA)
	if !strings.Contains(rootCA, "-----BEGIN") {
		b, err := os.ReadFile(rootCA)
		if err != nil {
			return nil, fmt.Errorf("read root CA: %w", err)
		}
		pem = b
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("root CA: no PEM certificate found")
	}
	return pool, nil
}

// tlsHint explains a failed TLS handshake in the operator's terms, or returns "".
func tlsHint(err error, mode, host string) string {
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	switch {
	case errors.As(err, &hostErr):
		return fmt.Sprintf("the server certificate is not valid for host %s (sslmode %s checks the host name: connect by a name the certificate lists, or use verify-ca)", host, mode)
	case errors.As(err, &authErr):
		return fmt.Sprintf("the server certificate is not signed by a trusted CA (sslmode %s: give the CA that signed it as the root CA)", mode)
	case strings.Contains(err.Error(), "server refused TLS connection"):
		// pgconn reports the refusal with a plain error, not a sentinel.
		return fmt.Sprintf("the server does not accept TLS (sslmode %s needs it)", mode)
	}
	return ""
}
