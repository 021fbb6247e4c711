package files_test

import (
	"errors"
	"fmt"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func toString(v any) string { return fmt.Sprint(v) }
