package privacy

import "testing"

func TestText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"mail li.lei@example.com now", "mail l***@example.com now"},
		{"call 13812345678", "call 138******78"},
		{"call +86 13812345678 please", "call +86 1********78 please"},
		{"id 11010519491231002X ok", "id 1101**********002X ok"},
		{"card 6222 0212 3456 7890 123", "card 6222*************** 123"},
		{"order 12345 shipped", "order 12345 shipped"},
		{"你好，我的邮箱是 wang@qq.com", "你好，我的邮箱是 w***@qq.com"},
	}
	for _, c := range cases {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
