"""render_site(): turn a ReportBundle into static pages; never touches the model."""
