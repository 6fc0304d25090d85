//go:build !race

package mmdbtool

const underRace = false
