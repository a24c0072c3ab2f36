// Package widgettest drives the customer widget and the standalone chat page in a real Chromium (Debian's,
// through chromedp) against a complete Parley node: a host page on another origin embeds the widget, a
// customer chats with an agent driven by the Go client, and the tests read the closed shadow root through the
// DevTools protocol, which the host page's own scripts cannot do. It has only tests.
package widgettest
