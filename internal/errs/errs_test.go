package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindIsInheritedFromWrappedError(t *testing.T) {
	inner := E(NotFound, "store.Get", "organization not found")
	outer := E("app.Rotate", fmt.Errorf("loading: %w", inner))
	if KindOf(outer) != NotFound {
		t.Fatalf("KindOf = %v, want not_found", KindOf(outer))
	}
	if got := SafeMessage(outer); got != "organization not found" {
		t.Fatalf("SafeMessage = %q", got)
	}
	if !errors.Is(outer, &Error{Kind: NotFound}) {
		t.Fatal("errors.Is by kind template failed")
	}
}

func TestCauseIsNotPartOfSafeMessage(t *testing.T) {
	err := E(Unavailable, "store.Open", "database unavailable", errors.New("dial tcp: password=hunter2"))
	if SafeMessage(err) != "database unavailable" {
		t.Fatalf("SafeMessage leaked the cause: %q", SafeMessage(err))
	}
}
