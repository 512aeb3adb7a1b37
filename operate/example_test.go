package operate_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/operate"
	"github.com/bulwark-go/bulwark/retry"
)

func Example() {
	payments := breaker.New(breaker.WithConsecutiveFailures(2))
	checkout := bulwark.New(retry.New(), breaker.New())

	reg := operate.NewRegistry()
	if err := reg.Register("payments", payments, operate.Critical()); err != nil {
		panic(err)
	}
	if err := reg.Register("checkout", checkout); err != nil { // as checkout/retry, checkout/breaker
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/bulwark/", http.StripPrefix("/debug/bulwark", operate.Handler(reg)))

	health := func() {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/bulwark/healthz", nil))
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	health()
	for range 2 {
		_ = payments.Execute(context.Background(), func(context.Context) error { return errors.New("connection refused") })
	}
	health()
	payments.Reset()
	health()
	// Output:
	// 200 {"status":"ok"}
	// 503 {"status":"unavailable","failing":[{"name":"payments","kind":"breaker","state":"open","critical":true,"reason":"consecutive_failures"}]}
	// 200 {"status":"ok"}
}

func ExampleWithControls() {
	b := breaker.New()
	reg := operate.NewRegistry()
	_ = reg.Register("payments", b)
	h := operate.Handler(reg, operate.WithControls())

	req := httptest.NewRequest("POST", "/control", strings.NewReader("name=payments&action=isolate"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(operate.ControlHeader, "1") // what a page of another origin cannot send
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, b.State())
	// Output:
	// 204 isolated
}
