package format

// SetLanguages sets the metadata's languages, replacing
// WriterOptions.Languages; it may be called any time before Close (the
// metadata is written last), so that a caller can list the locales of the
// names in the records it has written.
func (w *Writer) SetLanguages(langs []string) {
	w.opts.Languages = append([]string(nil), langs...)
}
