package apptest

import (
	"context"
	"net/http"
	"testing"

	"jianfu/models"
)

// CreateUnit adds a unit directly through the store.
func (a *App) CreateUnit(t testing.TB, code, name, kind string) models.Unit {
	t.Helper()
	u, err := a.Store.CreateUnit(context.Background(), code, name, kind)
	if err != nil {
		t.Fatalf("create unit %s: %v", code, err)
	}
	return u
}

// CreateUser adds a staff account directly through the store.
func (a *App) CreateUser(t testing.TB, p models.UserParams) models.User {
	t.Helper()
	u, err := a.Store.CreateUser(context.Background(), p)
	if err != nil {
		t.Fatalf("create user %s: %v", p.Username, err)
	}
	return u
}

// Login signs in through the API and returns a client carrying the session
// cookie and the X-CSRF-Token header, as the console does.
func (a *App) Login(t testing.TB, username, password string) *Client {
	t.Helper()
	c := a.Client()
	res := c.JSON(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": password})
	if res.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, res.Status, res.Raw)
	}
	c.Header.Set("X-CSRF-Token", res.Body["csrf_token"].(string))
	return c
}

// BearerClient returns a client using an API token of username.
func (a *App) BearerClient(t testing.TB, username string) *Client {
	t.Helper()
	tok, err := a.Store.CreateAPIToken(context.Background(), username, "test")
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	c := a.Client()
	c.Header.Set("Authorization", "Bearer "+tok)
	return c
}
