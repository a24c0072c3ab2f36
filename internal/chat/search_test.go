package chat

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSearchTerms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Please refund my ORDER #1042.", []string{"please", "refund", "my", "order", "1042"}},
		{"我要申请退款", []string{"我要", "要申", "申请", "请退", "退款"}},
		{"退款", []string{"退款"}},
		{"款", []string{"款"}},
		{"订单1042退款refund", []string{"订单", "1042", "退款", "refund"}},
		{"退款，退款！", []string{"退款"}},
		{"Café déjà-vu", []string{"café", "déjà", "vu"}},
		{"", nil},
		{"!!! ...", nil},
		{"カタカナ 한국어", []string{"カタ", "タカ", "カナ", "한국", "국어"}},
	} {
		if got := SearchTerms(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("SearchTerms(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSearchTermsBounded(t *testing.T) {
	long := strings.Repeat("字", 2000) + strings.Repeat(" word", 10)
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString(" w")
		b.WriteString(strings.Repeat("x", i%40+1))
	}
	for _, in := range []string{long, b.String()} {
		terms := SearchTerms(in)
		if len(terms) > MaxTermsPerText {
			t.Fatalf("%d terms, want at most %d", len(terms), MaxTermsPerText)
		}
		for _, term := range terms {
			if n := len([]rune(term)); n > maxTermRunes {
				t.Fatalf("term of %d characters", n)
			}
		}
	}
	if got := SearchTerms(strings.Repeat("a", 100)); len(got) != 1 || len([]rune(got[0])) != maxTermRunes {
		t.Fatalf("a long word: %q", got)
	}
}

// searchTermsReference is SearchTerms as first written, one rune at a time through the unicode tables: the
// oracle the faster loop is held to.
func searchTermsReference(text string) []string {
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

// searchPieces are what the random texts are made of: ASCII of every class, Latin letters with accents and
// combining marks, the Kelvin sign (which lower-cases to ASCII), CJK of every script, emoji, punctuation of
// both widths, invalid UTF-8, and long runs.
var searchPieces = []string{"a", "Z", "7", " ", "-", "_", "\t", "\n", ".", "é", "É", "e\u0301", "ß", "İ", "\u212a", "Ж", "ж",
	"退", "款", "订单", "カ", "タ", "한", "국", "ｶ", "😀", "，", "。", "！", "\xff", "\xe4\xbd", "\u00a0", "٣",
	strings.Repeat("x", 40), strings.Repeat("退", 3), "Refund", "ORDER", "1042"}

func TestSearchTermsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(60) {
			b.WriteString(searchPieces[rng.IntN(len(searchPieces))])
		}
		in := b.String()
		if got, want := SearchTerms(in), searchTermsReference(in); !slices.Equal(got, want) {
			t.Fatalf("SearchTerms(%q) = %q, the reference gives %q", in, got, want)
		}
	}
	// Past MaxTermsPerText, in each kind of term.
	var words, pairs strings.Builder
	for i := range 400 {
		fmt.Fprintf(&words, "w%d ", i)
		pairs.WriteRune(rune(0x4e00 + i))
	}
	for _, in := range []string{words.String(), pairs.String(), words.String() + pairs.String()} {
		if got, want := SearchTerms(in), searchTermsReference(in); !slices.Equal(got, want) {
			t.Fatalf("SearchTerms of %d bytes: %d terms, the reference %d", len(in), len(got), len(want))
		}
	}
}

func FuzzSearchTerms(f *testing.F) {
	for _, p := range searchPieces {
		f.Add(p + " " + p)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if got, want := SearchTerms(in), searchTermsReference(in); !slices.Equal(got, want) {
			t.Fatalf("SearchTerms(%q) = %q, the reference gives %q", in, got, want)
		}
	})
}

// BenchmarkSearchTerms splits a 4,000-byte message as S10 sends, a short English one and a Chinese one.
func BenchmarkSearchTerms(b *testing.B) {
	for _, c := range []struct{ name, text string }{
		{"s10-4000-bytes", "bench 1 1765130000000000000 " + strings.Repeat("x", 3972)},
		{"english-100-bytes", "Hello, I ordered a blue jacket last week (order #1042) and it has not arrived yet. Can you help?"},
		{"chinese", "你好，我上周订的蓝色外套还没到，订单号1042，能帮我查一下吗？谢谢！"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				SearchTerms(c.text)
			}
		})
		b.Run(c.name+"/reference", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				searchTermsReference(c.text)
			}
		})
	}
}
