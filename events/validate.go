package events

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// at joins a JSON path: at("prices[1]", "amount") = "prices[1].amount".
func at(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

// idx indexes a JSON path: idx("prices", 1) = "prices[1]".
func idx(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

// id checks a required identifier: present, not blank, no control characters.
func (p *problems) id(path, v string) {
	if strings.TrimSpace(v) == "" {
		p.add(path, "required")
		return
	}
	if len(v) > MaxIDLength {
		p.add(path, "is %d bytes long; ids may be at most %d", len(v), MaxIDLength)
		return
	}
	p.text(path, v)
}

// required checks a text that must be present: not blank, no control characters (no length bound: it is not
// an identifier).
func (p *problems) required(path, v string) {
	if strings.TrimSpace(v) == "" {
		p.add(path, "required")
		return
	}
	p.text(path, v)
}

// optID checks an identifier that may be absent.
func (p *problems) optID(path, v string) {
	if v != "" {
		p.id(path, v)
	}
}

// text rejects control characters, which no Zuora field accepts and logs would mangle.
func (p *problems) text(path, v string) {
	for _, r := range v {
		if unicode.IsControl(r) {
			p.add(path, "contains control character U+%04X", r)
			return
		}
	}
}

func (p *problems) enum(path, v string, required bool, allowed ...string) {
	if v == "" {
		if required {
			p.add(path, "required (one of %s)", strings.Join(allowed, ", "))
		}
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	p.add(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

// currency: three ASCII letters (ISO 4217 code); either case, handlers upper-case it.
func (p *problems) currency(path, v string, required bool) {
	if v == "" {
		if required {
			p.add(path, "required (ISO 4217 code)")
		}
		return
	}
	if len(v) != 3 || !isLetter(v[0]) || !isLetter(v[1]) || !isLetter(v[2]) {
		p.add(path, "%q is not a 3-letter currency code", v)
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

type sign int

const (
	anySign     sign = iota
	nonNegative      // >= 0
	positive         // > 0
)

// amount checks a Decimal field: present when required, a valid decimal, within sign.
func (p *problems) amount(path string, d *Decimal, required bool, s sign) {
	if d == nil {
		if required {
			p.add(path, "required")
		}
		return
	}
	if err := d.Err(); err != nil {
		p.add(path, "%v", err)
		return
	}
	switch {
	case s == nonNegative && d.Sign() < 0:
		p.add(path, "must not be negative (got %s)", d)
	case s == positive && d.Sign() <= 0:
		p.add(path, "must be greater than 0 (got %s)", d)
	}
}

// date checks an RFC 3339 date-time or a plain YYYY-MM-DD date.
func (p *problems) date(path, v string, required bool) {
	if v == "" {
		if required {
			p.add(path, "required (RFC 3339 date-time or YYYY-MM-DD)")
		}
		return
	}
	if _, err := ParseTime(v); err != nil {
		p.add(path, "%q is not an RFC 3339 date-time or YYYY-MM-DD date", v)
	}
}

// ParseTime parses the date forms payloads use: RFC 3339 (fractional seconds optional) or a
// plain date (midnight UTC).
func ParseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, v)
}

// email is deliberately loose: one address in addr-spec form, no display name.
func (p *problems) email(path, v string) {
	if v == "" {
		return
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		p.add(path, "%q is not an e-mail address", v)
	}
}

// link checks an absolute http(s) URL (Stigg's entityUrl).
func (p *problems) link(path, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.add(path, "%q is not an absolute http(s) URL", v)
	}
}

// eitherID requires at least one of two identifiers (Zuora callouts carry an id or a number).
func (p *problems) eitherID(pathA, a, pathB, b string) {
	if strings.TrimSpace(a) == "" && strings.TrimSpace(b) == "" {
		p.add(pathA, "%s or %s is required", pathA, pathB)
		return
	}
	p.optID(pathA, a)
	p.optID(pathB, b)
}
