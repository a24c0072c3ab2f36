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
//
// Every message is split once, behind the writes (store/search.go): on S10's 4,000-byte messages the split
// was 14 % of the server's CPU, so ASCII is read byte by byte and a word stops growing at maxTermRunes
// (docs/benchmarks.md, History 2026-12-07 night). TestSearchTermsMatchesReference holds it to the plain rune
// loop it replaced.
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
	var word []byte // the word so far, at most maxTermRunes runes of it
	wordRunes := 0
	var cjk []rune
	flushWord := func() bool {
		if len(word) == 0 {
			return true
		}
		w := string(word)
		word, wordRunes = word[:0], 0
		return add(w)
	}
	flushCJK := func() bool {
		if len(cjk) == 0 {
			return true
		}
		ok := true
		if len(cjk) == 1 {
			ok = add(string(cjk))
		}
		for i := 0; ok && i+1 < len(cjk); i++ {
			ok = add(string(cjk[i : i+2]))
		}
		cjk = cjk[:0]
		return ok
	}
	lower := strings.ToLower(text)
	for i := 0; i < len(lower); {
		if asciiAlnum(lower[i]) {
			// A run of ASCII letters and digits (lower case already) joins the word whole, up to its bound.
			j := i + 1
			for j < len(lower) && asciiAlnum(lower[j]) {
				j++
			}
			if len(cjk) > 0 && !flushCJK() {
				return out
			}
			n := min(j-i, maxTermRunes-wordRunes)
			word, wordRunes = append(word, lower[i:i+n]...), wordRunes+n
			i = j
			continue
		}
		r, size := rune(lower[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(lower[i:])
		}
		i += size
		letter := false // ASCII's letters and digits were taken above, and no ASCII character is CJK
		if r >= utf8.RuneSelf {
			if isCJK(r) {
				if !flushWord() {
					return out
				}
				cjk = append(cjk, r)
				continue
			}
			letter = unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		}
		if !letter {
			if !flushWord() || !flushCJK() {
				return out
			}
			continue
		}
		if len(cjk) > 0 && !flushCJK() {
			return out
		}
		if wordRunes < maxTermRunes {
			word = utf8.AppendRune(word, r)
			wordRunes++
		}
	}
	if flushWord() {
		flushCJK()
	}
	return out
}

// asciiAlnum reports whether c is an ASCII letter in lower case or a digit.
func asciiAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r)
}
