package main

import "github.com/gguftool/gguftool/publish"

// cardPlanner is the planner behind the card's memory figures and run
// commands: the one `gguftool plan` uses, with its defaults.
func cardPlanner() publish.Planner { return publish.ProjectPlanner{} }
