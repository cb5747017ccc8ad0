package agent

import (
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike"
)

// AssistantConfig is the assistant {} block of a server agent.
type AssistantConfig struct {
	// ChatRetention is how long a chat is kept after its last change
	// ("0s": for ever); the _core scheduler deletes older ones.
	ChatRetention *string `hcl:"chat_retention,optional"`
	// Provider, when set, answers through an OpenAI-compatible
	// chat-completions endpoint instead of the built-in assistant.
	Provider *AssistantProviderConfig `hcl:"provider,block"`
}

// AssistantProviderConfig is assistant { provider "openai" {} }.
type AssistantProviderConfig struct {
	Type string `hcl:"type,label"`
	// BaseURL is the API's base, such as https://api.openai.com/v1 or a
	// local llama.cpp / vLLM server's http://127.0.0.1:8080/v1.
	BaseURL *string `hcl:"base_url,optional"`
	Model   *string `hcl:"model,optional"`
	// APIKeyEnv names the environment variable that holds the API key:
	// the key never sits in a config file (nor in /-/config).
	APIKeyEnv *string `hcl:"api_key_env,optional"`
}

func defaultAssistant() *AssistantConfig {
	return &AssistantConfig{ChatRetention: ptr(nomadlike.DefaultChatRetention.String())}
}

func (c *AssistantConfig) validate(add func(string, ...any)) {
	if d, err := time.ParseDuration(*c.ChatRetention); err != nil || d < 0 {
		add("assistant.chat_retention: %q must be a duration such as 720h (0s keeps chats for ever)", *c.ChatRetention)
	}
	p := c.Provider
	if p == nil {
		return
	}
	if p.Type != "openai" {
		add("assistant.provider %q: unknown provider (want \"openai\", for any OpenAI-compatible endpoint)", p.Type)
		return
	}
	if p.BaseURL == nil || *p.BaseURL == "" {
		add("assistant.provider \"openai\": base_url is required, such as https://api.openai.com/v1")
	} else if u, err := url.Parse(*p.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("assistant.provider \"openai\": base_url %q must be an http or https URL", *p.BaseURL)
	}
	if p.Model == nil || *p.Model == "" {
		add("assistant.provider \"openai\": model is required")
	}
	if p.APIKeyEnv != nil && *p.APIKeyEnv != "" && os.Getenv(*p.APIKeyEnv) == "" {
		add("assistant.provider \"openai\": api_key_env names %s, which is not set", *p.APIKeyEnv)
	}
}

// apply sets the server's assistant settings.
func (c *AssistantConfig) apply(sc *nomadlike.Config) error {
	sc.ChatRetention = mustDuration(c.ChatRetention)
	if c.Provider == nil {
		return nil
	}
	engine, err := openAIEngine(c.Provider)
	if err != nil {
		return fmt.Errorf("assistant.provider %q: %w", c.Provider.Type, err)
	}
	sc.AssistantEngine = engine
	return nil
}
