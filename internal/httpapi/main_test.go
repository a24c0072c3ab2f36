package httpapi_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: a handler, a connection or a background task
// of the node that outlives its shutdown.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
