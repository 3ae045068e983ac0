//! Each app's one small feature, kept in the app's own memory (no shared database): Cloud's
//! notes per person, Talk's message board, Forum's posts, Market's installs per person.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Mutex, MutexGuard},
};

/// How much each list keeps; the oldest entries go first.
const MAX_NOTES_PER_PERSON: usize = 200;
const MAX_MESSAGES: usize = 500;
const MAX_POSTS: usize = 500;

/// Text someone typed: trimmed, not empty, at most `max` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TextError {
    #[error("Please write something.")]
    Empty,
    #[error("That is too long: at most {0} characters.")]
    TooLong(usize),
}

impl Text {
    pub fn parse(raw: &str, max: usize) -> Result<Self, TextError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        if text.chars().count() > max {
            return Err(TextError::TooLong(max));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who wrote something, as shown next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub account_id: String,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub author: Author,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Post {
    pub author: Author,
    pub title: String,
    pub body: String,
}

/// An app in Market's shop window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing {
    pub slug: &'static str,
    pub name: &'static str,
    pub blurb: &'static str,
}

/// Market's fixed shop window.
pub const LISTINGS: [Listing; 4] = [
    Listing {
        slug: "weather",
        name: "Weather Now",
        blurb: "Rain or shine, hour by hour.",
    },
    Listing {
        slug: "recipes",
        name: "Recipe Box",
        blurb: "Family recipes, shared with one tap.",
    },
    Listing {
        slug: "steps",
        name: "Step Counter",
        blurb: "Walk more, one day at a time.",
    },
    Listing {
        slug: "budget",
        name: "Budget Buddy",
        blurb: "Where the money went this month.",
    },
];

impl Listing {
    pub fn find(slug: &str) -> Option<&'static Listing> {
        LISTINGS.iter().find(|l| l.slug == slug)
    }
}

/// Everything the apps keep. One instance per running app; only its own part is used.
#[derive(Default)]
pub struct Features {
    notes: Mutex<HashMap<String, Vec<String>>>,
    messages: Mutex<Vec<Message>>,
    posts: Mutex<Vec<Post>>,
    installs: Mutex<HashMap<String, BTreeSet<&'static str>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn push_capped<T>(list: &mut Vec<T>, item: T, max: usize) {
    list.push(item);
    if list.len() > max {
        let excess = list.len() - max;
        list.drain(..excess);
    }
}

impl Features {
    /// Cloud: `sub`'s notes, newest first.
    pub fn notes(&self, sub: &str) -> Vec<String> {
        lock(&self.notes)
            .get(sub)
            .map(|n| n.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    pub fn add_note(&self, sub: &str, text: Text) {
        let mut notes = lock(&self.notes);
        push_capped(
            notes.entry(sub.to_owned()).or_default(),
            text.0,
            MAX_NOTES_PER_PERSON,
        );
    }

    /// Talk: every message, newest first.
    pub fn messages(&self) -> Vec<Message> {
        lock(&self.messages).iter().rev().cloned().collect()
    }

    pub fn add_message(&self, author: Author, text: Text) {
        push_capped(
            &mut lock(&self.messages),
            Message {
                author,
                text: text.0,
            },
            MAX_MESSAGES,
        );
    }

    /// Forum: every post, newest first.
    pub fn posts(&self) -> Vec<Post> {
        lock(&self.posts).iter().rev().cloned().collect()
    }

    pub fn add_post(&self, author: Author, title: Text, body: Text) {
        push_capped(
            &mut lock(&self.posts),
            Post {
                author,
                title: title.0,
                body: body.0,
            },
            MAX_POSTS,
        );
    }

    /// Market: the slugs `sub` installed.
    pub fn installs(&self, sub: &str) -> BTreeSet<&'static str> {
        lock(&self.installs).get(sub).cloned().unwrap_or_default()
    }

    /// Records that `sub` installed `listing`. Installing twice is installing once.
    pub fn install(&self, sub: &str, listing: &'static Listing) {
        lock(&self.installs)
            .entry(sub.to_owned())
            .or_default()
            .insert(listing.slug);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(Text::parse("  hi ", 5).unwrap().as_str(), "hi");
        assert_eq!(Text::parse("   ", 5), Err(TextError::Empty));
        assert_eq!(Text::parse("éééééé", 5), Err(TextError::TooLong(5)));
    }

    #[test]
    fn notes_are_per_person_and_newest_first() {
        let f = Features::default();
        f.add_note("a", Text::parse("one", 10).unwrap());
        f.add_note("a", Text::parse("two", 10).unwrap());
        f.add_note("b", Text::parse("other", 10).unwrap());
        assert_eq!(f.notes("a"), vec!["two", "one"]);
        assert_eq!(f.notes("b"), vec!["other"]);
        assert!(f.notes("c").is_empty());
    }

    #[test]
    fn lists_keep_only_the_newest() {
        let mut list: Vec<u32> = (0..5).collect();
        push_capped(&mut list, 5, 3);
        assert_eq!(list, vec![3, 4, 5]);
    }

    #[test]
    fn installs_are_per_person() {
        let f = Features::default();
        let weather = Listing::find("weather").unwrap();
        f.install("a", weather);
        f.install("a", weather);
        assert_eq!(f.installs("a").len(), 1);
        assert!(f.installs("b").is_empty());
        assert!(Listing::find("nope").is_none());
    }
}
