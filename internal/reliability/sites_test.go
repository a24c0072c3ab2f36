package reliability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
)

// Admins manage sites over the API; a change takes effect at once, is audited, and bad values are refused
// with the field named. Agents are refused.
func TestSitesAdmin(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	var list struct {
		Sites []struct {
			ID        string            `json:"id"`
			WidgetKey string            `json:"widget_key"`
			Secret    string            `json:"secret"`
			Settings  chat.SiteSettings `json:"settings"`
		} `json:"sites"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/sites", nil, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Sites) != 1 || list.Sites[0].WidgetKey != n.SiteKey || len(list.Sites[0].Secret) < 40 {
		t.Fatalf("sites %+v", list)
	}
	site := list.Sites[0].ID
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"allowed_origins": []string{"https://shop.example/path"}}, "allowed_origins"},
		{map[string]any{"allowed_origins": []string{"javascript:alert(1)"}}, "allowed_origins"},
		{map[string]any{"settings": map[string]any{"color": "red"}}, "color"},
		{map[string]any{"settings": map[string]any{"routing": map[string]any{"offer_timeout_s": 99999}}}, "offer_timeout_s"},
		{map[string]any{"settings": map[string]any{"routing": map[string]any{"business_hours": map[string]any{"enabled": true, "time_zone": "Mars/Olympus"}}}}, "time_zone"},
		{map[string]any{"default_team_id": "no-such-team"}, "default_team_id"},
		{map[string]any{"name": " "}, "name"},
	} {
		_, err := n.Admin.Do(ctx, http.MethodPatch, "/api/v1/sites/"+site, bad.body, nil)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 400 || ce.Field != bad.field {
			t.Errorf("PATCH %v: %v, want 400 naming %s", bad.body, err, bad.field)
		}
	}
	// Out of hours from now on: the next customer is asked to leave a message, without a restart.
	if _, err := n.Admin.Do(ctx, http.MethodPatch, "/api/v1/sites/"+site, map[string]any{"settings": map[string]any{
		"greeting": "你好", "routing": map[string]any{"business_hours": map[string]any{"enabled": true, "time_zone": "Asia/Shanghai"}}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, conv := customerConv(t, n, "late"); conv.Status != "pending" {
		t.Fatalf("after closing the hours the new conversation is %s, want pending", conv.Status)
	}
	var audit struct {
		Entries []struct {
			Action   string `json:"action"`
			TargetID string `json:"target_id"`
		} `json:"entries"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/audit", nil, &audit); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range audit.Entries {
		found = found || (e.Action == "site.update" && e.TargetID == site)
	}
	if !found {
		t.Fatalf("no site.update in the audit log: %+v", audit)
	}
	// A new site gets its own key and secret.
	var created struct {
		WidgetKey string `json:"widget_key"`
		Secret    string `json:"secret"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/sites", map[string]any{"name": "Second shop",
		"allowed_origins": []string{"https://second.example"}}, &created); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.WidgetKey, "site_") || created.WidgetKey == n.SiteKey || len(created.Secret) < 40 {
		t.Fatalf("created %+v", created)
	}
	// Agents may not.
	ag := agent(t, n, "plain")
	for _, c := range []struct{ method, path string }{{http.MethodGet, "/api/v1/sites"}, {http.MethodPost, "/api/v1/sites"},
		{http.MethodPatch, "/api/v1/sites/" + site}} {
		if _, err := ag.Do(ctx, c.method, c.path, map[string]any{"name": "x"}, nil); !strings.Contains(fmt.Sprint(err), "403") {
			t.Errorf("agent %s %s: %v, want 403", c.method, c.path, err)
		}
	}
}

// Sites are cached in memory (store.SiteCacheTTL); a PATCH must still reach the very next request that reads the
// site, by key (the visitor session) and by id (authentication's origin check, the start of a conversation),
// even when those reads were just served from the cache.
func TestSiteChangeReachesCachedReads(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	site, err := n.App.Store.SiteByKey(ctx, n.SiteKey)
	if err != nil {
		t.Fatal(err)
	}
	allow := func(origin string) {
		t.Helper()
		if _, err := n.Admin.Do(ctx, http.MethodPatch, "/api/v1/sites/"+site.ID, map[string]any{"allowed_origins": []string{origin},
			"settings": map[string]any{"greeting": origin}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// visitor opens or resumes api's visitor session and returns the greeting the widget is given.
	visitor := func(api *client.API) (string, error) {
		var out struct {
			Token string `json:"token"`
			Site  struct {
				Settings chat.SiteSettings `json:"settings"`
			} `json:"site"`
		}
		_, err := api.Do(ctx, http.MethodPost, "/api/v1/visitor/session", map[string]any{"site_key": n.SiteKey, "token": api.Token}, &out)
		api.Token = out.Token
		return out.Site.Settings.Greeting, err
	}
	allow("https://a.example")
	cust := &client.API{BaseURL: n.URL, Origin: "https://a.example"}
	for range 2 { // the second is served from the cache
		if g, err := visitor(cust); err != nil || g != "https://a.example" {
			t.Fatalf("visitor session: greeting %q, %v", g, err)
		}
	}
	for range 3 { // the first start creates, the others resume: all read the site, the later ones from the cache
		if _, err := cust.StartConversation(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	allow("https://b.example")
	if _, err := cust.StartConversation(ctx, ""); client.Code(err) != string(chat.CodeOriginRefused) {
		t.Fatalf("after the origin was removed: %v, want %s", err, chat.CodeOriginRefused)
	}
	if _, err := visitor(cust); client.Code(err) != string(chat.CodeOriginRefused) {
		t.Fatalf("visitor session from the removed origin: %v, want %s", err, chat.CodeOriginRefused)
	}
	other := &client.API{BaseURL: n.URL, Origin: "https://b.example"}
	if g, err := visitor(other); err != nil || g != "https://b.example" {
		t.Fatalf("visitor session after the change: greeting %q, %v", g, err)
	}
	if _, err := other.StartConversation(ctx, ""); err != nil {
		t.Fatal(err)
	}
}
