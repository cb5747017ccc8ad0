package agent

import (
	"os"

	"github.com/nomadlike/nomadlike/nomadlike/assistant"
)

// openAIEngine builds the engine of assistant { provider "openai" {} }:
// the key is read from the environment variable the block names.
func openAIEngine(p *AssistantProviderConfig) (assistant.Engine, error) {
	var key string
	if p.APIKeyEnv != nil && *p.APIKeyEnv != "" {
		key = os.Getenv(*p.APIKeyEnv)
	}
	return assistant.NewOpenAI(assistant.OpenAIConfig{BaseURL: *p.BaseURL, Model: *p.Model, APIKey: key})
}
