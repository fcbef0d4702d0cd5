package main

import "github.com/gguftool/gguftool/publish"

// cardPlanner is the planner behind the card's memory figures. The planner
// package has no API yet; until it lands the card has no memory section.
func cardPlanner() publish.Planner { return nil }
