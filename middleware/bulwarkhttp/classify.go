package bulwarkhttp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/bulwark-go/bulwark/internal/outcome"
)

// Class is what one attempt's response or error means for the policies
// around the Transport. A response that is not ClassSuccess reaches the
// policies as a *StatusError; the caller still gets the response itself
// when the policies end on it (see Transport).
type Class uint8

const (
	// ClassSuccess: the response is the answer; the policies see nil.
	// For a transport error it counts as ClassPermanent.
	ClassSuccess Class = iota
	// ClassRetry: a failure worth another attempt (a breaker counts it,
	// retry retries it).
	ClassRetry
	// ClassFailure: a failure of the dependency that is not retried: a
	// breaker counts it, and the transport stops any retry around it (see
	// Transport). Retrying a failure that is likely to repeat (a 500 is
	// usually a bug, not a blip) only multiplies the load on a server in
	// trouble.
	ClassFailure
	// ClassPermanent: a definitive answer, marked bulwark.Permanent: not
	// retried, and, as the outcome table in the bulwark package doc says,
	// a success for the policies that learn from outcomes.
	ClassPermanent
)

// String returns "success", "retry", "failure" or "permanent".
func (c Class) String() string {
	switch c {
	case ClassSuccess:
		return "success"
	case ClassRetry:
		return "retry"
	case ClassFailure:
		return "failure"
	case ClassPermanent:
		return "permanent"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// DefaultClassifier is the Transport's classification:
//
//   - 429, 502, 503 and 504 are ClassRetry: the server is overloaded or
//     a gateway could not reach it, and may do better on the next try;
//   - 500 and every other 5xx are ClassFailure: a failure a breaker
//     counts, not retried;
//   - every other status (4xx included) is ClassSuccess: the server
//     answered, and the answer is the caller's to read;
//   - TLS and certificate errors, an unsupported scheme, a URL without a
//     host, and an HTTP answer to an HTTPS request are ClassPermanent:
//     trying again cannot change them;
//   - every other transport error (refused, reset, timed out, DNS) is
//     ClassRetry.
//
// A classifier of your own can call it for the cases it does not change.
func DefaultClassifier(resp *http.Response, err error) Class {
	if err != nil {
		if permanentTransportError(err) {
			return ClassPermanent
		}
		return ClassRetry
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests, code == http.StatusBadGateway,
		code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		return ClassRetry
	case code >= 500 && code <= 599:
		return ClassFailure
	}
	return ClassSuccess
}

// permanentTransportError reports whether err is one that no retry can
// change: the configuration or the peer's identity is wrong.
func permanentTransportError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
		record           tls.RecordHeaderError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify) || errors.As(err, &record) ||
		errors.Is(err, http.ErrSchemeMismatch) {
		return true
	}
	// net/http reports a bad URL with errors of no exported type.
	msg := err.Error()
	return strings.Contains(msg, "unsupported protocol scheme") ||
		strings.Contains(msg, "no Host in request URL") ||
		strings.Contains(msg, "invalid URL")
}

// StatusError is how the policies around a Transport or a Middleware see a
// response whose status is a failure: a 503 from the server, a 500 written
// by the handler. Observers and predicates (retry.WithRetryIf,
// breaker.WithFailureIf) can read the status with errors.As.
type StatusError struct {
	// Code is the response's status code.
	Code int

	// resp is the response the error stands for, on the client side, so
	// that the transport returns it when the policies end on this error.
	resp *http.Response
}

func (e *StatusError) Error() string {
	return "bulwark/bulwarkhttp: status " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
}

// serverStatusErrors are the errors of the 5xx statuses a handler writes,
// as the policies see them: failures that no retry or hedge repeats (the
// response has gone to the client), made once so that a failing handler
// costs no allocation.
var serverStatusErrors = func() (errs [100]error) {
	for i := range errs {
		errs[i] = outcome.NoRetry(&StatusError{Code: 500 + i})
	}
	return errs
}()

func serverStatusError(code int) error {
	if code >= 500 && code <= 599 {
		return serverStatusErrors[code-500]
	}
	return outcome.NoRetry(&StatusError{Code: code})
}
