package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTermsPerText bounds how many search terms one message contributes.
const MaxTermsPerText = 256

// maxTermRunes bounds a word term; longer words are cut (their prefix still finds them).
const maxTermRunes = 32

// SearchTerms splits text into the terms the search index stores and a query looks up, the same way for
// both: words of letters and digits in lower case for scripts written with spaces, and overlapping pairs of
// characters (bigrams) for Chinese, Japanese and Korean, which are written without spaces — so "退款" is
// found inside "我要申请退款" and "refund" inside "Please refund my order." A lone CJK character is a term of
// its own. Terms are unique, in order of first appearance.
func SearchTerms(text string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) bool {
		if t == "" || seen[t] {
			return true
		}
		seen[t] = true
		out = append(out, t)
		return len(out) < MaxTermsPerText
	}
	var word strings.Builder
	var cjk []rune
	flushWord := func() bool {
		w := word.String()
		word.Reset()
		if utf8.RuneCountInString(w) > maxTermRunes {
			w = string([]rune(w)[:maxTermRunes])
		}
		return add(w)
	}
	flushCJK := func() bool {
		defer func() { cjk = cjk[:0] }()
		if len(cjk) == 1 {
			return add(string(cjk))
		}
		for i := 0; i+1 < len(cjk); i++ {
			if !add(string(cjk[i : i+2])) {
				return false
			}
		}
		return true
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case isCJK(r):
			if !flushWord() {
				return out
			}
			cjk = append(cjk, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			if !flushCJK() {
				return out
			}
			word.WriteRune(r)
		default:
			if !flushWord() || !flushCJK() {
				return out
			}
		}
	}
	if flushWord() {
		flushCJK()
	}
	return out
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r)
}
