package chat

import (
	"crypto/rand"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// NewWidgetKey returns a public site key: short enough to paste, random enough not to be guessed.
func NewWidgetKey() string { return "site_" + strings.ToLower(rand.Text()[:16]) }

// NewSiteSecret returns the key a site signs its users' identities with (about 260 random bits).
func NewSiteSecret() string { return rand.Text() + rand.Text() }

var colorRe = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Validate checks a site's settings.
func (s SiteSettings) Validate() error {
	switch {
	case s.Color != "" && !colorRe.MatchString(s.Color):
		return Invalid("color", "color must be #rrggbb")
	case s.Position != "" && s.Position != "right" && s.Position != "left":
		return Invalid("position", "position must be right or left")
	case s.Language != "" && s.Language != "zh-CN" && s.Language != "en":
		return Invalid("language", "language must be empty (the browser's), zh-CN or en")
	case utf8.RuneCountInString(s.Greeting) > 500:
		return Invalid("greeting", "the greeting has at most 500 characters")
	}
	for _, f := range s.PreChat.Fields {
		if f.Name != "name" && f.Name != "email" && f.Name != "phone" {
			return Invalid("pre_chat", "pre-chat fields are name, email and phone")
		}
	}
	for _, d := range s.PreChat.Departments {
		if d.TeamID == "" || strings.TrimSpace(d.Name) == "" || utf8.RuneCountInString(d.Name) > 100 {
			return Invalid("pre_chat", "each department needs a team and a name of at most 100 characters")
		}
	}
	return s.Routing.Validate()
}

// ValidateOrigins checks a site's allowed origins: each is scheme://host[:port], http or https, nothing more.
func ValidateOrigins(origins []string) error {
	if len(origins) > 50 {
		return Invalid("allowed_origins", "at most 50 origins")
	}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return Invalid("allowed_origins", "%q is not an origin such as https://www.example.com", o)
		}
	}
	return nil
}
