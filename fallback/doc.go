// Package fallback replaces a failed call's outcome with an alternate one:
// a cached value, a default, a degraded answer.
//
//	var price Price
//	p := bulwark.New(
//		fallback.New(func(ctx context.Context, err error) error {
//			price = cachedPrice() // the result the caller reads
//			return nil
//		}),
//		timeout.New(time.Second),
//	)
//	err := p.Execute(ctx, func(ctx context.Context) error {
//		var err error
//		price, err = fetchPrice(ctx)
//		return err
//	})
//
// Under bulwark.Get, the fallback hands the caller its value with
// bulwark.Supply (a fallback that returns nil without supplying one makes
// Get return the zero value and a nil error):
//
//	p := bulwark.New(
//		fallback.New(func(ctx context.Context, err error) error {
//			bulwark.Supply(ctx, cachedUser(id))
//			return nil
//		}),
//		timeout.New(time.Second),
//	)
//	user, err := bulwark.Get(ctx, p, func(ctx context.Context) (User, error) { return loadUser(ctx, id) })
//
// The fallback function receives the error of the failed call and returns
// the call's new outcome: nil for a success, or an error (the same one, or
// another) for a failure. It runs for every error, rejections of inner
// policies included, unless [WithHandleIf] narrows that down; it never runs
// for the caller's own cancellation or expired deadline, which is returned
// as it is: a caller that has gone needs no alternate answer.
//
// A Fallback learns nothing from outcomes: it handles every error it is
// given, a timeout or a breaker's rejection as well as the dependency's own
// failure. Its zero value has no fallback function and passes outcomes
// through unchanged.
//
// On the success path a Fallback does nothing but look at the error, so it
// costs a few nanoseconds and no allocation.
//
// # Panics
//
// By default a panic in the protected call propagates to the caller
// unchanged. [WithRecover] turns it into a [*PanicError], stack included,
// that the fallback function receives. A panic in the fallback function
// itself always propagates. panic(nil) is a panic too, in a program run
// with GODEBUG=panicnil=1 as well, where recover returns nil for it: the
// fallback function receives a *PanicError with a nil Value. A
// runtime.Goexit is no panic and goes on.
//
// # Counts and events
//
// A Fallback counts the failed calls whose outcome its function replaced,
// whatever the error was (a rejection, a timeout, a recovered panic) and
// whatever the function returned: [Fallback.Status] returns them as
// Failures, in the shape every bulwark policy shares, and they are the
// bulwark.calls series with outcome "failure", the only one a Fallback
// exports. The calls that succeed, the errors WithHandleIf turns down and
// the caller's cancellation are not counted, so that the success path
// stays free.
//
// Each time the fallback function runs, the Fallback reports
// bulwark.EventFallback with Err set to the error it handled (counter
// bulwark.events, span event "bulwark.fallback"). The event is built only
// when something listens, so falling back without an SDK, a recording
// span or an observer allocates nothing.
package fallback
