package auth

import "github.com/personium-go/personium/internal/perr"

// OAuth 2.0 error codes (RFC 6749 §5.2) that the token endpoint answers with.
const (
	ErrInvalidRequest       = "invalid_request"
	ErrInvalidClient        = "invalid_client"
	ErrInvalidGrant         = "invalid_grant"
	ErrUnauthorizedClient   = "unauthorized_client"
	ErrUnsupportedGrantType = "unsupported_grant_type"
	ErrInvalidScope         = "invalid_scope"
	ErrServerError          = "server_error"
)

// oauthErrors maps Personium's token-endpoint codes to OAuth error codes,
// as Personium's PersoniumCoreAuthnException pairs them.
var oauthErrors = map[string]string{
	"PR400-AN-0001": ErrUnsupportedGrantType,
	"PR400-AN-0002": ErrInvalidRequest,
	"PR400-AN-0003": ErrInvalidClient,
	"PR400-AN-0004": ErrInvalidClient,
	"PR400-AN-0005": ErrInvalidClient,
	"PR400-AN-0006": ErrInvalidClient,
	"PR400-AN-0007": ErrInvalidClient,
	"PR400-AN-0008": ErrInvalidGrant,
	"PR400-AN-0009": ErrInvalidGrant,
	"PR400-AN-0010": ErrInvalidGrant,
	"PR400-AN-0011": ErrInvalidGrant,
	"PR400-AN-0012": ErrInvalidGrant,
	"PR400-AN-0013": ErrInvalidGrant,
	"PR400-AN-0014": ErrInvalidGrant,
	"PR400-AN-0015": ErrInvalidGrant,
	"PR400-AN-0016": ErrInvalidRequest,
	"PR400-AN-0017": ErrInvalidGrant,
	"PR400-AN-0018": ErrInvalidClient,
	"PR400-AN-0019": ErrInvalidGrant,
	"PR401-AN-0020": ErrInvalidClient,
	"PR401-AN-0021": ErrInvalidClient,
	"PR400-AN-0022": ErrInvalidClient,
	"PR401-AN-0023": ErrInvalidGrant, // PersoniumCoreAuthnException.PASSWORD_CHANGE_REQUIRED
}

// OAuthError returns the OAuth error code and description of err as the
// token endpoint writes them: {"error": code, "error_description": "[PR…] - text"}.
func OAuthError(err error) (status int, code, description string) {
	e := perr.Public(err)
	code = oauthErrors[e.Code]
	if code == "" {
		code = ErrServerError
		if e.Status() < 500 {
			code = ErrInvalidRequest
		}
	}
	return e.Status(), code, "[" + e.Code + "] - " + e.Message()
}
