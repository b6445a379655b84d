package config

import (
	"errors"
	"fmt"
)

// FieldError is one problem with one configuration field.
type FieldError struct {
	// Field is the full path of the field as the user wrote it, e.g. jsonData.clusters[1].port
	// or secureJsonData.password.prod-east.
	Field string
	// Problem says what is wrong. It never contains a secret value.
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// problems collects every FieldError of one decode, so that a user fixes a file in one pass
// instead of one error per attempt.
type problems struct {
	list []error
	// failed holds the fields already reported: a value that could not be decoded is left at its
	// default, and validation must not report it a second time.
	failed map[string]bool
}

func (p *problems) add(field, format string, args ...any) {
	if p.failed[field] {
		return
	}
	if p.failed == nil {
		p.failed = make(map[string]bool)
	}
	p.failed[field] = true
	p.list = append(p.list, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error { return errors.Join(p.list...) }

// prefixEach puts prefix in front of every error that err joins, so that each line of a
// multi-line report says which file and datasource it is about.
func prefixEach(prefix string, err error) error {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, fmt.Errorf("%s: %w", prefix, e))
	}
	return errors.Join(out...)
}
