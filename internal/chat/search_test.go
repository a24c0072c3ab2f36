package chat

import (
	"slices"
	"strings"
	"testing"
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
