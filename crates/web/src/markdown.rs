//! READMEs and other text from module zips, made safe for a page:
//! markdown through pulldown-cmark, then the HTML through ammonia's
//! allow-list (no scripts, no event handlers, no `javascript:` or `data:`
//! links, no SVG, no styles).

use pulldown_cmark::{html, Options, Parser};

pub fn render(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

/// Text for an HTML text node or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_markdown_is_inert() {
        let html = render(
            "# Hi\n\n<script>window.pwned=1</script>\n<img src=x onerror=\"window.pwned=1\">\n[x](javascript:window.pwned=1)\n<svg><script>window.pwned=1</script></svg>\n<a href=\"data:text/html,<script>1</script>\">d</a>\n<iframe src=\"https://evil.example\"></iframe>\n",
        );
        for bad in [
            "<script",
            "onerror",
            "href=\"javascript:",
            "<svg",
            "href=\"data:",
            "<iframe",
        ] {
            assert!(!html.contains(bad), "{bad} survived: {html}");
        }
        assert!(html.contains("<h1>Hi</h1>"), "{html}");
    }
}
