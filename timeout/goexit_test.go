package timeout_test

import "runtime"

func runtimeGoexit() { runtime.Goexit() }
