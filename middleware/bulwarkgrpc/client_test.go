package bulwarkgrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/internal/otest"
	"github.com/bulwark-go/bulwark/middleware/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// clientEnv starts the health server and a client whose calls go through
// the unary and stream client interceptors of p.
func clientEnv(t *testing.T, p bulwark.Policy, opts ...bulwarkgrpc.Option) *env {
	return newEnv(t, nil,
		grpc.WithChainUnaryInterceptor(bulwarkgrpc.UnaryClientInterceptor(p, opts...)),
		grpc.WithChainStreamInterceptor(bulwarkgrpc.StreamClientInterceptor(p, opts...)))
}

func quickRetry(events *otest.Events) *retry.Retry {
	opts := []retry.Option{retry.WithMaxAttempts(3), retry.WithDelay(0)}
	if events != nil {
		opts = append(opts, retry.WithObserver(events.Observe))
	}
	return retry.New(opts...)
}

func TestUnaryRetriesUnavailableOnIdempotentMethod(t *testing.T) {
	e := clientEnv(t, quickRetry(nil), bulwarkgrpc.WithIdempotent(checkMethod))
	e.faults.add(checkMethod, fault{code: codes.Unavailable}, fault{code: codes.Unavailable})

	resp, err := check(t.Context(), e, "svc")
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	assert.Equal(t, 3, e.faults.count(checkMethod))
}

func TestUnaryPushbackIsTheRetryDelay(t *testing.T) {
	events := &otest.Events{}
	// A backoff of an hour cannot fit the deadline: only the server's hint
	// of 1ms lets the retry happen.
	r := retry.New(retry.WithMaxAttempts(2), retry.WithDelay(time.Hour), retry.WithObserver(events.Observe))
	e := clientEnv(t, r, bulwarkgrpc.WithIdempotent(checkMethod))
	e.faults.add(checkMethod, fault{code: codes.ResourceExhausted, pushback: []string{"1"}})

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := check(ctx, e, "svc")
	require.NoError(t, err)
	assert.Equal(t, 2, e.faults.count(checkMethod))
	list := events.List()
	require.Len(t, list, 1)
	assert.Equal(t, bulwark.EventRetry, list[0].Type)
	assert.Equal(t, time.Millisecond, list[0].Delay)
}

func TestUnaryPushbackThatStopsRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		code     codes.Code
		pushback []string
	}{
		{"ResourceExhausted without pushback", codes.ResourceExhausted, nil},
		{"negative", codes.ResourceExhausted, []string{"-1"}},
		{"not a number", codes.ResourceExhausted, []string{"abc"}},
		{"beyond an int", codes.ResourceExhausted, []string{"99999999999999999999"}},
		{"empty", codes.ResourceExhausted, []string{""}},
		{"two values", codes.ResourceExhausted, []string{"1", "2"}},
		{"Unavailable with a negative pushback", codes.Unavailable, []string{"-1"}},
		{"Unavailable with a malformed pushback", codes.Unavailable, []string{"1.5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := clientEnv(t, quickRetry(nil), bulwarkgrpc.WithIdempotent(checkMethod))
			e.faults.add(checkMethod, fault{code: tc.code, pushback: tc.pushback, msg: "go away"})

			_, err := check(t.Context(), e, "svc")
			assert.Equal(t, tc.code, status.Code(err))
			assert.Equal(t, "go away", status.Convert(err).Message())
			assert.Equal(t, 1, e.faults.count(checkMethod), "not retried")
		})
	}
}

func TestUnaryRetriesOnlyIdempotentMethods(t *testing.T) {
	t.Run("not marked", func(t *testing.T) {
		e := clientEnv(t, quickRetry(nil))
		e.faults.add(checkMethod, fault{code: codes.Unavailable}, fault{code: codes.Unavailable})
		_, err := check(t.Context(), e, "svc")
		assert.Equal(t, codes.Unavailable, status.Code(err))
		assert.Equal(t, 1, e.faults.count(checkMethod))
	})
	t.Run("another method marked", func(t *testing.T) {
		e := clientEnv(t, quickRetry(nil), bulwarkgrpc.WithIdempotent(listMethod))
		e.faults.add(checkMethod, fault{code: codes.Unavailable})
		_, err := check(t.Context(), e, "svc")
		assert.Equal(t, codes.Unavailable, status.Code(err))
		assert.Equal(t, 1, e.faults.count(checkMethod))
	})
	t.Run("every method by predicate", func(t *testing.T) {
		var asked []string
		e := clientEnv(t, quickRetry(nil), bulwarkgrpc.WithIdempotentIf(func(m string) bool {
			asked = append(asked, m)
			return true
		}))
		e.faults.add(checkMethod, fault{code: codes.Unavailable})
		_, err := check(t.Context(), e, "svc")
		require.NoError(t, err)
		assert.Equal(t, 2, e.faults.count(checkMethod))
		assert.Equal(t, []string{checkMethod}, asked, "asked only on a failure worth retrying")
	})
}

func TestUnaryRetriesNoFailureThatIsNotRetryable(t *testing.T) {
	for _, code := range []codes.Code{codes.Internal, codes.Unknown, codes.DataLoss, codes.DeadlineExceeded,
		codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied, codes.Unauthenticated,
		codes.FailedPrecondition, codes.OutOfRange, codes.Unimplemented, codes.Aborted} {
		t.Run(code.String(), func(t *testing.T) {
			e := clientEnv(t, quickRetry(nil), bulwarkgrpc.WithIdempotent(checkMethod))
			e.faults.add(checkMethod, fault{code: code})
			_, err := check(t.Context(), e, "svc")
			assert.Equal(t, code, status.Code(err))
			assert.Equal(t, 1, e.faults.count(checkMethod))
		})
	}
}

// The breaker learns by the code table through IsFailure, while the retry
// retries nothing that is not retryable.
func TestUnaryBreakerLearnsFailureCodes(t *testing.T) {
	for _, tc := range []struct {
		code  codes.Code
		trips bool
	}{
		{codes.Unavailable, true}, {codes.Internal, true}, {codes.DeadlineExceeded, true},
		{codes.Unknown, true}, {codes.DataLoss, true},
		{codes.InvalidArgument, false}, {codes.NotFound, false}, {codes.AlreadyExists, false},
		{codes.PermissionDenied, false}, {codes.Unauthenticated, false}, {codes.FailedPrecondition, false},
		{codes.OutOfRange, false}, {codes.Unimplemented, false}, {codes.ResourceExhausted, false},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			b := breaker.New(breaker.WithConsecutiveFailures(2), breaker.WithOpenDuration(time.Hour),
				breaker.WithFailureIf(bulwarkgrpc.IsFailure))
			e := clientEnv(t, bulwark.New(quickRetry(nil), b), bulwarkgrpc.WithIdempotent(checkMethod))
			e.faults.add(checkMethod, fault{code: tc.code}, fault{code: tc.code})
			// With a deadline, the open breaker's hint (an hour) ends the
			// retry at once.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			for range 2 {
				_, err := check(ctx, e, "svc")
				if tc.code == codes.Unavailable {
					assert.ErrorIs(t, err, breaker.ErrOpen, "retried until the breaker opened")
				} else {
					assert.Equal(t, tc.code, status.Code(err))
				}
			}
			if tc.trips {
				assert.Equal(t, breaker.Open, b.State())
				if tc.code != codes.Unavailable {
					assert.Equal(t, 2, e.faults.count(checkMethod), "a failure that is not retryable is not retried")
				}
			} else {
				assert.Equal(t, breaker.Closed, b.State())
				assert.Equal(t, 2, e.faults.count(checkMethod))
			}
		})
	}
}

// A breaker without IsFailure counts by the bulwark table: the interceptor
// marks what must not be retried Permanent, which that table counts as an
// answer. This pins the documented reason to pass IsFailure.
// A breaker with bulwark's default rule learns the code table: Internal is
// a failure though it is not retried, and NotFound is an answer.
func TestUnaryDefaultBreakerLearnsTheFailureCodes(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(2), breaker.WithOpenDuration(time.Hour))
	e := clientEnv(t, bulwark.New(quickRetry(nil), b), bulwarkgrpc.WithIdempotent(checkMethod))
	e.faults.add(checkMethod, fault{code: codes.NotFound}, fault{code: codes.NotFound})
	for range 2 {
		_, _ = check(t.Context(), e, "svc")
	}
	assert.Equal(t, breaker.Closed, b.State(), "NotFound is the dependency's answer")

	e.faults.add(checkMethod, fault{code: codes.Internal}, fault{code: codes.Internal})
	for range 2 {
		_, err := check(t.Context(), e, "svc")
		assert.Equal(t, codes.Internal, status.Code(err))
	}
	assert.Equal(t, breaker.Open, b.State(), "two Internals, neither retried, open it")
}

func TestUnaryWithFailureCodes(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Hour),
		breaker.WithFailureIf(bulwarkgrpc.IsFailure))
	e := clientEnv(t, b, bulwarkgrpc.WithFailureCodes(codes.Aborted))
	e.faults.add(checkMethod, fault{code: codes.Internal})
	_, _ = check(t.Context(), e, "svc")
	assert.Equal(t, breaker.Closed, b.State(), "Internal is no longer a failure")
	e.faults.add(checkMethod, fault{code: codes.Aborted})
	_, _ = check(t.Context(), e, "svc")
	assert.Equal(t, breaker.Open, b.State())
}

func TestUnaryCallerCancellationIsNoFailure(t *testing.T) {
	b := breaker.New(breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Hour),
		breaker.WithFailureIf(bulwarkgrpc.IsFailure))
	e := clientEnv(t, bulwark.New(quickRetry(nil), b), bulwarkgrpc.WithIdempotent(checkMethod))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := check(ctx, e, "svc")
	assert.Equal(t, codes.Canceled, status.Code(err))

	ctx, cancel = context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = check(ctx, e, "svc")
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err))

	assert.Equal(t, breaker.Closed, b.State())
	snap := b.Snapshot()
	assert.Equal(t, [4]int64{0, 0, 2, 0}, snap.Totals, "two calls, both ignored")
}

func TestUnaryErrorIsTheAttemptsOwnStatus(t *testing.T) {
	var trailer metadata.MD
	t.Run("one attempt", func(t *testing.T) {
		e := clientEnv(t, quickRetry(nil))
		e.faults.add(checkMethod, fault{code: codes.Unavailable, msg: "down", pushback: []string{"5"}})
		_, err := check(t.Context(), e, "svc", grpc.Trailer(&trailer))
		st, ok := status.FromError(err)
		require.True(t, ok)
		assert.Equal(t, codes.Unavailable, st.Code())
		assert.Equal(t, "down", st.Message())
		assert.Equal(t, "rpc error: code = Unavailable desc = down", err.Error())
		assert.Equal(t, []string{"5"}, trailer.Get(bulwarkgrpc.PushbackKey), "the caller's own Trailer option still works")
	})
	t.Run("retries exhausted", func(t *testing.T) {
		e := clientEnv(t, quickRetry(nil), bulwarkgrpc.WithIdempotent(checkMethod))
		e.faults.add(checkMethod, fault{code: codes.Unavailable, msg: "down"}, fault{code: codes.Unavailable, msg: "down"},
			fault{code: codes.Unavailable, msg: "still down"})
		_, err := check(t.Context(), e, "svc")
		st, ok := status.FromError(err)
		require.True(t, ok)
		assert.Equal(t, codes.Unavailable, st.Code())
		assert.Equal(t, "still down", st.Message())
		assert.Equal(t, codes.Unavailable, status.Code(err))
		assert.ErrorIs(t, err, retry.ErrExhausted)
		var ex *retry.ExhaustedError
		require.ErrorAs(t, err, &ex)
		assert.Equal(t, 3, ex.Attempts)
		assert.Equal(t, 3, e.faults.count(checkMethod))
	})
}

func TestUnaryLocalRejectionsAreStatusErrors(t *testing.T) {
	open := breaker.New(breaker.WithOpenDuration(time.Hour))
	open.Isolate()
	limited := ratelimit.New(1e-3, 1)
	full := bulkhead.New(1)
	hold := make(chan struct{})
	held := make(chan struct{})
	go func() {
		_ = full.Execute(context.Background(), func(context.Context) error { close(held); <-hold; return nil })
	}()
	<-held
	defer close(hold)

	for _, tc := range []struct {
		name   string
		p      bulwark.Policy
		code   codes.Code
		is     error
		hinted bool
	}{
		{"breaker open", open, codes.Unavailable, breaker.ErrOpen, false},
		{"rate limited", limited, codes.ResourceExhausted, ratelimit.ErrLimited, true},
		{"bulkhead full", full, codes.Unavailable, bulkhead.ErrFull, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := clientEnv(t, tc.p)
			asked := 0
			if tc.name == "rate limited" {
				_, err := check(t.Context(), e, "svc")
				require.NoError(t, err, "the burst")
				asked = 1
			}
			_, err := check(t.Context(), e, "svc")
			st, ok := status.FromError(err)
			require.True(t, ok, "a status error, not a bare error grpc would call Unknown")
			assert.Equal(t, tc.code, st.Code())
			assert.ErrorIs(t, err, tc.is)
			assert.ErrorIs(t, err, bulwark.ErrRejected)
			assert.Equal(t, asked, e.faults.count(checkMethod), "the server was never asked")
			hint, hinted := bulwark.RetryAfter(err)
			var info *errdetails.RetryInfo
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					info = ri
				}
			}
			if tc.hinted {
				require.True(t, hinted)
				require.NotNil(t, info)
				// A token every 1000s: the hint, read again now, is a
				// little shorter than when the detail was written.
				assert.InDelta(t, hint, info.GetRetryDelay().AsDuration(), float64(time.Second))
				assert.Greater(t, info.GetRetryDelay().AsDuration(), 990*time.Second)
			} else if hinted {
				require.NotNil(t, info)
			} else {
				assert.Nil(t, info)
			}
		})
	}
}

func TestPerMethodPolicies(t *testing.T) {
	closed := breaker.New()
	open := breaker.New(breaker.WithOpenDuration(time.Hour))
	open.Isolate()

	t.Run("map", func(t *testing.T) {
		e := clientEnv(t, closed, bulwarkgrpc.WithMethodPolicies(map[string]bulwark.Policy{listMethod: open}))
		_, err := check(t.Context(), e, "svc")
		require.NoError(t, err)
		_, err = e.client.List(t.Context(), &healthpb.HealthListRequest{})
		assert.ErrorIs(t, err, breaker.ErrOpen)
		assert.Equal(t, codes.Unavailable, status.Code(err))
	})
	t.Run("func, nil falls back", func(t *testing.T) {
		var asked []string
		e := clientEnv(t, open, bulwarkgrpc.WithMethodPolicy(func(m string) bulwark.Policy {
			asked = append(asked, m)
			if m == checkMethod {
				return closed
			}
			return nil
		}))
		_, err := check(t.Context(), e, "svc")
		require.NoError(t, err)
		_, err = e.client.List(t.Context(), &healthpb.HealthListRequest{})
		assert.ErrorIs(t, err, breaker.ErrOpen)
		assert.Equal(t, []string{checkMethod, listMethod}, asked)
	})
	t.Run("the later option wins", func(t *testing.T) {
		e := clientEnv(t, closed,
			bulwarkgrpc.WithMethodPolicies(map[string]bulwark.Policy{checkMethod: open}),
			bulwarkgrpc.WithMethodPolicy(func(string) bulwark.Policy { return nil }))
		_, err := check(t.Context(), e, "svc")
		require.NoError(t, err)
	})
}

// A hedge would have two attempts write one reply at once: the second is
// refused with FailedPrecondition instead, before it reaches the invoker.
func TestUnaryConcurrentAttemptIsRefused(t *testing.T) {
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	slow := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		entered <- struct{}{}
		<-release
		return invoker(ctx, method, req, reply, cc, opts...)
	})
	twice := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		first := make(chan error, 1)
		go func() { first <- fn(ctx) }()
		<-entered
		second := fn(ctx)
		close(release)
		assert.NoError(t, <-first)
		return second
	})
	e := newEnv(t, nil, grpc.WithChainUnaryInterceptor(bulwarkgrpc.UnaryClientInterceptor(twice)), slow)
	_, err := check(t.Context(), e, "svc")
	assert.Equal(t, codes.FailedPrecondition, status.Code(err))
	assert.Len(t, entered, 0, "the second attempt never reached the invoker")
	assert.Equal(t, 1, e.faults.count(checkMethod))
}

type policyFunc func(ctx context.Context, fn func(context.Context) error) error

func (f policyFunc) Execute(ctx context.Context, fn func(context.Context) error) error {
	return f(ctx, fn)
}

// Both retrying multiplies the attempts: three of grpc-go's within each of
// bulwark's three. The package doc says to turn one off.
func TestGrpcRetriesAndBulwarkRetriesMultiply(t *testing.T) {
	const config = `{"methodConfig": [{"name": [{"service": "grpc.health.v1.Health"}],
		"retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.001s", "maxBackoff": "0.001s",
		"backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`
	e := newEnvRetrying(t, true, nil, grpc.WithDefaultServiceConfig(config),
		grpc.WithChainUnaryInterceptor(bulwarkgrpc.UnaryClientInterceptor(quickRetry(nil), bulwarkgrpc.WithIdempotent(checkMethod))))
	for range 8 {
		e.faults.add(checkMethod, fault{code: codes.Unavailable})
	}
	_, err := check(t.Context(), e, "svc")
	require.NoError(t, err)
	assert.Equal(t, 9, e.faults.count(checkMethod))
}

// The interceptors after bulwark's run again for every attempt.
func TestInnerInterceptorsRunForEveryAttempt(t *testing.T) {
	inner := 0
	count := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		inner++
		return invoker(ctx, method, req, reply, cc, opts...)
	})
	e := newEnv(t, nil, grpc.WithChainUnaryInterceptor(bulwarkgrpc.UnaryClientInterceptor(quickRetry(nil), bulwarkgrpc.WithIdempotent(checkMethod))), count)
	e.faults.add(checkMethod, fault{code: codes.Unavailable}, fault{code: codes.Unavailable})
	_, err := check(t.Context(), e, "svc")
	require.NoError(t, err)
	assert.Equal(t, 3, inner)
}

// A per-attempt timeout inside the retry: its attempt ends with grpc's
// DeadlineExceeded, which is retried on an idempotent method only. The
// second attempt answers at once, without the server, so that the short
// timeout cannot catch it too.
func TestUnaryPerAttemptTimeoutIsRetriedWhenIdempotent(t *testing.T) {
	for _, idempotent := range []bool{true, false} {
		t.Run(map[bool]string{true: "idempotent", false: "not idempotent"}[idempotent], func(t *testing.T) {
			attempts := 0
			hang := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				if attempts++; attempts > 1 {
					return nil
				}
				<-ctx.Done() // the attempt's deadline
				return status.FromContextError(ctx.Err()).Err()
			})
			var opts []bulwarkgrpc.Option
			if idempotent {
				opts = append(opts, bulwarkgrpc.WithIdempotent(checkMethod))
			}
			p := bulwark.New(quickRetry(nil), timeout.New(time.Millisecond))
			e := newEnv(t, nil, grpc.WithChainUnaryInterceptor(bulwarkgrpc.UnaryClientInterceptor(p, opts...)), hang)
			_, err := check(t.Context(), e, "svc")
			if idempotent {
				require.NoError(t, err)
				assert.Equal(t, 2, attempts)
			} else {
				assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
				assert.ErrorIs(t, err, timeout.ErrTimeout)
				assert.Equal(t, 1, attempts)
			}
		})
	}
}
