package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/store"
)

// FirstRun is what Bootstrap created, to be shown once.
type FirstRun struct {
	Email     string
	Password  string // empty when taken from the environment (not echoed)
	WidgetKey string
}

// Bootstrap prepares an empty database: a team, a site for the widget and the first admin. It does nothing
// when any agent exists. The admin's password comes from the configuration or is generated.
func Bootstrap(ctx context.Context, st *store.Store, a *auth.Service, cfg *config.Config) (*FirstRun, error) {
	n, err := st.CountAgents(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, nil
	}
	team, err := st.CreateTeam(ctx, "Support 客服")
	if err != nil {
		return nil, err
	}
	site := &chat.Site{Name: "My website", WidgetKey: NewWidgetKey(), Secret: chat.NewSiteSecret(),
		AllowedOrigins: []string{cfg.Origin()}, DefaultTeamID: team.ID,
		Settings: chat.SiteSettings{Color: "#2563eb", Position: "right"}}
	if err := st.CreateSite(ctx, site); err != nil {
		return nil, err
	}
	pw, shown := cfg.AdminPassword, ""
	if pw == "" {
		pw = GeneratePassword()
		shown = pw
	}
	_, err = a.CreateAgent(ctx, nil, auth.NewAgent{Email: cfg.AdminEmail, Name: "Admin", Password: pw,
		Role: chat.RoleAdmin, Capacity: chat.DefaultCapacity, AutoAccept: true, Teams: []string{team.ID}}, "")
	if chat.IsCode(err, chat.CodeConflict) {
		return nil, nil // another node bootstrapped at the same moment
	}
	if err != nil {
		return nil, fmt.Errorf("create the first admin (-admin-email %q): %w", cfg.AdminEmail, err)
	}
	return &FirstRun{Email: strings.ToLower(cfg.AdminEmail), Password: shown, WidgetKey: site.WidgetKey}, nil
}

// NewWidgetKey returns a public site key: short enough to paste, random enough not to be guessed.
func NewWidgetKey() string { return chat.NewWidgetKey() }

// GeneratePassword returns 20 characters from crypto/rand (about 100 bits).
func GeneratePassword() string { return rand.Text()[:20] }

// Print shows what the first run created: the admin's credentials (once) and the widget snippet.
func (f *FirstRun) Print(w io.Writer, cfg *config.Config) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  First run: an admin account was created.")
	fmt.Fprintf(w, "    e-mail:   %s\n", f.Email)
	if f.Password != "" {
		fmt.Fprintf(w, "    password: %s\n", f.Password)
		fmt.Fprintln(w, "    (shown only this once: log in and change it)")
	} else {
		fmt.Fprintln(w, "    password: the one in PARLEY_ADMIN_PASSWORD")
	}
	fmt.Fprintf(w, "  Add the chat widget to a page:\n    <script src=\"%s/widget.js\" data-site=\"%s\" async></script>\n", cfg.PublicURL, f.WidgetKey)
	fmt.Fprintln(w)
}
