// Package privacy masks personal data (e-mail addresses, phone numbers, ID and card numbers) in text that
// leaves the system's core: logs, and agents' views where a policy asks for it.
package privacy

import (
	"regexp"
	"strings"
)

var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	// Chinese resident ID numbers: 17 digits and a digit or X.
	idRe = regexp.MustCompile(`\b\d{17}[\dXx]\b`)
	// Card numbers: 13 to 19 digits, optionally grouped by spaces or dashes.
	cardRe = regexp.MustCompile(`\b(?:\d[ -]?){12,18}\d\b`)
	// Phone numbers: mainland mobiles (1 + 10 digits, optional +86) and international +<digits>.
	phoneRe = regexp.MustCompile(`(?:\+?86[ -]?)?\b1[3-9]\d{9}\b|\+\d[\d -]{7,16}\d`)
)

// Email masks an address to its first character and domain: li.lei@example.com -> l***@example.com.
func Email(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return "***"
	}
	return s[:1] + "***" + s[at:]
}

// Phone keeps the first three and last two digits: 13812345678 -> 138******78.
func Phone(s string) string {
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits < 6 {
		return "***"
	}
	var b strings.Builder
	seen := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			seen++
			if seen > 3 && seen <= digits-2 {
				b.WriteByte('*')
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// keepEnds masks all but the first four and last four characters of a digit run.
func keepEnds(s string) string {
	if len(s) <= 8 {
		return strings.Repeat("*", len(s))
	}
	return s[:4] + strings.Repeat("*", len(s)-8) + s[len(s)-4:]
}

// Text masks every e-mail address, ID number, card number and phone number found in s.
func Text(s string) string {
	if s == "" {
		return s
	}
	s = emailRe.ReplaceAllStringFunc(s, Email)
	s = idRe.ReplaceAllStringFunc(s, keepEnds)
	s = phoneRe.ReplaceAllStringFunc(s, Phone)
	s = cardRe.ReplaceAllStringFunc(s, keepEnds)
	return s
}
