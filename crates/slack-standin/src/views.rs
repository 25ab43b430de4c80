//! Modals as Slack keeps them: trigger IDs (valid [`TRIGGER_TTL`], exchanged once), each
//! person's stack of open views (at most [`MAX_VIEW_STACK`]), the checks Slack makes on a view
//! object, and the `views.open` / `views.push` / `views.update` methods.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::error::StandinError;
use crate::ids::unix_now;
use crate::methods::Outcome;
use crate::params::Params;
use crate::signing::{
    BlockSuggestion, InputValue, MessageAction, SelectedOption, Shortcut, ViewClosed,
    ViewSubmission, empty_state,
};
use crate::world::World;

/// How long a `trigger_id` can be exchanged after the interaction that issued it.
pub const TRIGGER_TTL: Duration = Duration::from_secs(3);
/// Views a modal stack may hold: the one `views.open` opened and 2 pushed.
pub const MAX_VIEW_STACK: usize = 3;
/// Blocks a modal or Home tab view may have.
pub(crate) const VIEW_MAX_BLOCKS: usize = 100;
/// A modal's `title`, `submit` and `close` texts: at most this many characters.
const VIEW_BUTTON_MAX_CHARS: usize = 24;
const CALLBACK_ID_MAX_CHARS: usize = 255;
const EXTERNAL_ID_MAX_CHARS: usize = 255;
const PRIVATE_METADATA_MAX_CHARS: usize = 3_000;
const BLOCK_ID_MAX_CHARS: usize = 255;
const INPUT_LABEL_MAX_CHARS: usize = 2_000;

/// A trigger the world issued.
#[derive(Debug, Clone)]
pub(crate) struct Trigger {
    pub(crate) user_id: String,
    pub(crate) issued_at: Instant,
    /// Made to expire by a test (`expire_trigger_ids`), without waiting 3 s.
    pub(crate) expired: bool,
    pub(crate) exchanged: bool,
}

/// A modal view a person has open, as Slack answered it to the app (and sends it back in
/// `view_submission`, `view_closed` and `block_suggestion` payloads).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenView {
    /// `V...`
    pub id: String,
    /// Whose screen it is on.
    pub user_id: String,
    /// The whole view object: the app's fields plus `id`, `team_id`, `app_id`, `bot_id`,
    /// `hash`, `state`, `root_view_id`, `previous_view_id`, `external_id`, `callback_id`,
    /// `private_metadata`, `clear_on_close`, `notify_on_close`.
    pub view: Value,
}

impl OpenView {
    fn text(&self, key: &str) -> &str {
        self.view.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// `callback_id` (empty when the app set none).
    pub fn callback_id(&self) -> &str {
        self.text("callback_id")
    }

    /// `private_metadata` (empty when the app set none).
    pub fn private_metadata(&self) -> &str {
        self.text("private_metadata")
    }

    /// `external_id` (empty when the app set none).
    pub fn external_id(&self) -> &str {
        self.text("external_id")
    }

    /// The current `hash`; `views.update` with another one gets `hash_conflict`.
    pub fn hash(&self) -> &str {
        self.text("hash")
    }

    /// `title.text`.
    pub fn title(&self) -> &str {
        self.view
            .pointer("/title/text")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The view's blocks.
    pub fn blocks(&self) -> &[Value] {
        self.view
            .get("blocks")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The block with `block_id`.
    pub fn block(&self, block_id: &str) -> Option<&Value> {
        self.blocks()
            .iter()
            .find(|block| block.get("block_id").and_then(Value::as_str) == Some(block_id))
    }
}

/// What the app's answer to a `view_submission` did to the person's modal, as Slack applies it
/// ([`crate::SlackStandin::answer_view_submission`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ViewAnswer {
    /// An empty 200: the submitted view closed (the views under it stay).
    Closed,
    /// `response_action: clear`: every view of the stack closed.
    Cleared,
    /// `response_action: errors`: the view stays open with these messages on its input blocks
    /// (block ID, message).
    Errors(Vec<(String, String)>),
    /// `response_action: update`: the submitted view was replaced (same ID); the new view.
    Updated(OpenView),
    /// `response_action: push`: a view was pushed on top; the new view.
    Pushed(OpenView),
    /// Slack refuses the answer and shows the person an error in the modal ("We had some
    /// trouble connecting"); the view stays as it was. The reason, for the test.
    Refused(String),
}

/// Why a view is refused: `invalid_arguments` with Slack's `response_metadata.messages`.
pub(crate) fn invalid_view(why: &str) -> Outcome {
    Outcome::error_with(
        "invalid_arguments",
        json!({ "response_metadata": { "messages": [format!("[ERROR] {why}")] } }),
    )
}

fn plain_text_len(view: &Value, key: &str) -> Result<Option<usize>, String> {
    let Some(object) = view.get(key).filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    if object.get("type").and_then(Value::as_str) != Some("plain_text") {
        return Err(format!(
            "must be a plain_text text object [json-pointer:/view/{key}/type]"
        ));
    }
    let text = object
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing required field: text [json-pointer:/view/{key}]"))?;
    Ok(Some(text.chars().count()))
}

fn string_field_len(view: &Value, key: &str) -> Result<usize, String> {
    match view.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(text)) => Ok(text.chars().count()),
        Some(_) => Err(format!("must be a string [json-pointer:/view/{key}]")),
    }
}

/// The checks Slack makes on a view object for `views.publish` (`kind` `home`) and
/// `views.open` / `views.push` / `views.update` (`kind` `modal`): its `type`, at most
/// [`VIEW_MAX_BLOCKS`] blocks each with a `type` (section text <= 3000, header <= 150), unique
/// `block_id`s of at most 255 characters, `callback_id` and `external_id` <= 255 and
/// `private_metadata` <= 3000 characters. Modals also need a plain_text `title` and, when given,
/// `submit` and `close`, each at most 24 characters; a modal with an `input` block needs
/// `submit`; an `input` block needs a `label` (plain_text, <= 2000) and an `element`. The error
/// is Slack's message without the `[ERROR] ` prefix.
pub(crate) fn check_view(view: &Value, kind: &str) -> Result<(), String> {
    if !view.is_object() {
        return Err("must be an object [json-pointer:/view]".to_string());
    }
    if view.get("type").and_then(Value::as_str) != Some(kind) {
        return Err(format!("must be a {kind} view [json-pointer:/view/type]"));
    }
    let blocks = view
        .get("blocks")
        .and_then(Value::as_array)
        .ok_or_else(|| "missing required field: blocks [json-pointer:/view]".to_string())?;
    if blocks.len() > VIEW_MAX_BLOCKS {
        return Err(format!(
            "must contain at most {VIEW_MAX_BLOCKS} items [json-pointer:/view/blocks]"
        ));
    }
    crate::methods::check_block_items(blocks, "/view/blocks")?;
    let mut seen = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        if let Some(block_id) = block.get("block_id").and_then(Value::as_str) {
            if block_id.chars().count() > BLOCK_ID_MAX_CHARS {
                return Err(format!(
                    "must be less than {} characters [json-pointer:/view/blocks/{index}/block_id]",
                    BLOCK_ID_MAX_CHARS + 1
                ));
            }
            if seen.contains(&block_id) {
                return Err(format!(
                    "duplicate block_id \"{block_id}\" [json-pointer:/view/blocks/{index}/block_id]"
                ));
            }
            seen.push(block_id);
        }
    }
    for (key, limit) in [
        ("callback_id", CALLBACK_ID_MAX_CHARS),
        ("external_id", EXTERNAL_ID_MAX_CHARS),
        ("private_metadata", PRIVATE_METADATA_MAX_CHARS),
    ] {
        if string_field_len(view, key)? > limit {
            return Err(format!(
                "must be less than {} characters [json-pointer:/view/{key}]",
                limit + 1
            ));
        }
    }
    if kind != "modal" {
        return Ok(());
    }
    if plain_text_len(view, "title")?.is_none() {
        return Err("missing required field: title [json-pointer:/view]".to_string());
    }
    for key in ["title", "submit", "close"] {
        if plain_text_len(view, key)?.is_some_and(|len| len > VIEW_BUTTON_MAX_CHARS) {
            return Err(format!(
                "must be less than {} characters [json-pointer:/view/{key}/text]",
                VIEW_BUTTON_MAX_CHARS + 1
            ));
        }
    }
    for (index, block) in blocks.iter().enumerate() {
        if block.get("type").and_then(Value::as_str) != Some("input") {
            continue;
        }
        if plain_text_len(view, "submit")?.is_none() {
            return Err(
                "must provide a submit property when using input blocks [json-pointer:/view]"
                    .to_string(),
            );
        }
        let label = block
            .pointer("/label/text")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!("missing required field: label [json-pointer:/view/blocks/{index}]")
            })?;
        if label.chars().count() > INPUT_LABEL_MAX_CHARS {
            return Err(format!(
                "must be less than {} characters [json-pointer:/view/blocks/{index}/label/text]",
                INPUT_LABEL_MAX_CHARS + 1
            ));
        }
        if !block.get("element").is_some_and(Value::is_object) {
            return Err(format!(
                "missing required field: element [json-pointer:/view/blocks/{index}]"
            ));
        }
    }
    Ok(())
}

/// The interactive elements of a view: (block ID, action ID, element) for `input` blocks, the
/// accessories of sections and the elements of `actions` blocks. Blocks without a `block_id`
/// get the one Slack would generate from their position.
pub(crate) fn elements(view: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    let blocks = view
        .get("blocks")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for (index, block) in blocks.iter().enumerate() {
        let block_id = block
            .get("block_id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("b{index}"), str::to_string);
        let candidates: Vec<&Value> = match block.get("type").and_then(Value::as_str) {
            Some("input") => block.get("element").into_iter().collect(),
            Some("section") => block.get("accessory").into_iter().collect(),
            Some("actions") => block
                .get("elements")
                .and_then(Value::as_array)
                .map(|elements| elements.iter().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for (position, element) in candidates.into_iter().enumerate() {
            let action_id = element
                .get("action_id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("a{index}_{position}"), str::to_string);
            found.push((block_id.clone(), action_id, element.clone()));
        }
    }
    found
}

/// The `state.values` of a fresh view: every input element with its initial value (or empty),
/// as Slack reports a view nobody has typed in yet.
fn initial_state(view: &Value) -> Value {
    let mut values = serde_json::Map::new();
    for (block_id, action_id, element) in elements(view) {
        let Some(kind) = element.get("type").and_then(Value::as_str) else {
            continue;
        };
        let Some(mut state) = empty_state(kind) else {
            continue;
        };
        for (initial, field) in [
            ("initial_value", "value"),
            ("initial_option", "selected_option"),
            ("initial_options", "selected_options"),
            ("initial_date", "selected_date"),
            ("initial_user", "selected_user"),
            ("initial_users", "selected_users"),
        ] {
            if let Some(value) = element.get(initial) {
                state[field] = value.clone();
            }
        }
        let block = values
            .entry(block_id)
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        block[action_id] = state;
    }
    json!({ "values": values })
}

impl World {
    // ---- triggers -----------------------------------------------------------------------

    /// Issues a trigger for `user_id`, as Slack does with every interaction.
    pub(crate) fn issue_trigger(&mut self, user_id: &str) -> Result<String, StandinError> {
        self.require_user(user_id)?;
        let trigger_id = crate::signing::trigger_id();
        self.triggers.insert(
            trigger_id.clone(),
            Trigger {
                user_id: user_id.to_string(),
                issued_at: Instant::now(),
                expired: false,
                exchanged: false,
            },
        );
        Ok(trigger_id)
    }

    /// Exchanges the call's `trigger_id` (or `interactivity_pointer`): the user it was issued
    /// to. Refusals: none given `invalid_arguments`; not issued here `invalid_trigger_id`;
    /// exchanged already `exchanged_trigger_id`; older than [`TRIGGER_TTL`] (or expired by a
    /// test) `expired_trigger_id`.
    ///
    /// Slack does not say whether a call refused for its view (`invalid_arguments`) still uses
    /// up its trigger. The stricter reading is taken: a trigger that passed these checks is
    /// exchanged whatever happens next, so an app cannot retry a bad view on the same trigger.
    fn exchange_trigger(&mut self, params: &Params) -> Result<String, Outcome> {
        let trigger_id = params
            .non_empty("trigger_id")
            .or_else(|| params.non_empty("interactivity_pointer"))
            .ok_or_else(|| invalid_view("missing required field: trigger_id"))?;
        let trigger = self
            .triggers
            .get_mut(&trigger_id)
            .ok_or_else(|| Outcome::error("invalid_trigger_id"))?;
        if trigger.exchanged {
            return Err(Outcome::error("exchanged_trigger_id"));
        }
        if trigger.expired || trigger.issued_at.elapsed() > TRIGGER_TTL {
            return Err(Outcome::error("expired_trigger_id"));
        }
        trigger.exchanged = true;
        Ok(trigger.user_id.clone())
    }

    // ---- views --------------------------------------------------------------------------

    /// The view argument, checked as a modal.
    fn modal_argument(params: &Params) -> Result<Value, Outcome> {
        let view = params
            .json("view")
            .map_err(|()| invalid_view("failed to parse view JSON"))?
            .ok_or_else(|| invalid_view("missing required field: view"))?;
        check_view(&view, "modal").map_err(|why| invalid_view(&why))?;
        Ok(view)
    }

    /// `duplicate_external_id` when another open view of the app already has `view`'s
    /// `external_id` (Slack: unique for all views of the app on the team).
    fn check_external_id(&self, view: &Value, except: Option<&str>) -> Result<(), Outcome> {
        let Some(external_id) = view
            .get("external_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
        else {
            return Ok(());
        };
        let taken =
            self.open_views
                .values()
                .any(|open| Some(open.id.as_str()) != except && open.external_id() == external_id)
                || self.home_views.values().any(|home| {
                    home.get("external_id").and_then(Value::as_str) == Some(external_id)
                });
        if taken {
            return Err(Outcome::error("duplicate_external_id"));
        }
        Ok(())
    }

    /// The view object as Slack answers it: the app's fields plus Slack's own.
    fn stored_view(
        &mut self,
        view: &Value,
        id: &str,
        root_view_id: &str,
        previous_view_id: Option<&str>,
        state: Option<Value>,
    ) -> Value {
        let mut stored = view.clone();
        // Slack gives blocks without a `block_id` one of its own and answers it in the view.
        if let Some(blocks) = stored.get_mut("blocks").and_then(Value::as_array_mut) {
            for block in blocks
                .iter_mut()
                .filter(|block| block.get("block_id").is_none())
            {
                block["block_id"] = json!(crate::ids::random_token()[..5].to_string());
            }
        }
        let hash = format!("{}.{}", unix_now(), self.ids.next('H'));
        for (key, default) in [
            ("callback_id", json!("")),
            ("private_metadata", json!("")),
            ("external_id", json!("")),
            ("submit", Value::Null),
            ("close", Value::Null),
            ("clear_on_close", json!(false)),
            ("notify_on_close", json!(false)),
            ("submit_disabled", json!(false)),
        ] {
            if stored.get(key).is_none() {
                stored[key] = default;
            }
        }
        stored["id"] = json!(id);
        stored["team_id"] = json!(self.config.team_id);
        stored["app_id"] = json!(self.config.app_id);
        stored["app_installed_team_id"] = json!(self.config.team_id);
        stored["bot_id"] = json!(self.config.bot_id);
        stored["hash"] = json!(hash);
        stored["state"] = state.unwrap_or_else(|| initial_state(&stored));
        stored["root_view_id"] = json!(root_view_id);
        stored["previous_view_id"] = json!(previous_view_id);
        stored
    }

    /// Puts a new view on top of `user_id`'s stack (`views.open` starts a new stack).
    pub(crate) fn push_view(&mut self, user_id: &str, view: &Value, new_stack: bool) -> OpenView {
        if new_stack {
            self.close_stack(user_id);
        }
        let id = self.ids.next('V');
        let stack = self.view_stacks.get(user_id).cloned().unwrap_or_default();
        let root = stack.first().cloned().unwrap_or_else(|| id.clone());
        let previous = stack.last().cloned();
        let stored = self.stored_view(view, &id, &root, previous.as_deref(), None);
        let open = OpenView {
            id: id.clone(),
            user_id: user_id.to_string(),
            view: stored,
        };
        self.open_views.insert(id.clone(), open.clone());
        self.view_stacks
            .entry(user_id.to_string())
            .or_default()
            .push(id);
        open
    }

    /// Replaces view `id` with `view`, keeping its ID, place in the stack and what was typed
    /// into inputs that are still there; a new hash.
    pub(crate) fn replace_view(&mut self, id: &str, view: &Value) -> Option<OpenView> {
        let old = self.open_views.get(id)?.clone();
        let root = old.view["root_view_id"].as_str().unwrap_or(id).to_string();
        let previous = old.view["previous_view_id"].as_str().map(str::to_string);
        let mut stored = self.stored_view(view, id, &root, previous.as_deref(), None);
        if let (Some(new_values), Some(old_values)) = (
            stored
                .pointer_mut("/state/values")
                .and_then(Value::as_object_mut),
            old.view.pointer("/state/values").and_then(Value::as_object),
        ) {
            for (block_id, actions) in new_values.iter_mut() {
                let Some(actions) = actions.as_object_mut() else {
                    continue;
                };
                for (action_id, entry) in actions.iter_mut() {
                    if let Some(previous) = old_values.get(block_id).and_then(|b| b.get(action_id))
                        && previous.get("type") == entry.get("type")
                    {
                        *entry = previous.clone();
                    }
                }
            }
        }
        let open = OpenView {
            view: stored,
            ..old
        };
        self.open_views.insert(id.to_string(), open.clone());
        Some(open)
    }

    /// Closes every view of `user_id`'s stack.
    pub(crate) fn close_stack(&mut self, user_id: &str) {
        for id in self.view_stacks.remove(user_id).unwrap_or_default() {
            self.open_views.remove(&id);
        }
    }

    /// Closes the top view of `user_id`'s stack.
    pub(crate) fn pop_view(&mut self, user_id: &str) {
        if let Some(stack) = self.view_stacks.get_mut(user_id) {
            if let Some(id) = stack.pop() {
                self.open_views.remove(&id);
            }
            if stack.is_empty() {
                self.view_stacks.remove(user_id);
            }
        }
    }

    /// `user_id`'s open views, bottom (the root) first.
    pub(crate) fn stack_of(&self, user_id: &str) -> Vec<OpenView> {
        self.view_stacks
            .get(user_id)
            .map(|stack| {
                stack
                    .iter()
                    .filter_map(|id| self.open_views.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `views.open`: exchanges the trigger and opens a modal for its user, replacing any stack
    /// they had.
    pub(crate) fn views_open(&mut self, params: &Params) -> Result<Outcome, Outcome> {
        let user_id = self.exchange_trigger(params)?;
        let view = Self::modal_argument(params)?;
        self.check_external_id(&view, None)?;
        let open = self.push_view(&user_id, &view, true);
        Ok(Outcome::ok(json!({ "view": open.view })))
    }

    /// `views.push`: exchanges the trigger and pushes a view on its user's open modal.
    ///
    /// Slack says the trigger must come from an interaction in the modal, and names no error for
    /// a person with no modal open. The stricter reading: without an open modal the call is
    /// refused with `not_found` (there is no view to push onto). A full stack
    /// ([`MAX_VIEW_STACK`]): `push_limit_reached`.
    pub(crate) fn views_push(&mut self, params: &Params) -> Result<Outcome, Outcome> {
        let user_id = self.exchange_trigger(params)?;
        let view = Self::modal_argument(params)?;
        let depth = self.view_stacks.get(&user_id).map_or(0, Vec::len);
        if depth == 0 {
            return Err(Outcome::error("not_found"));
        }
        if depth >= MAX_VIEW_STACK {
            return Err(Outcome::error("push_limit_reached"));
        }
        self.check_external_id(&view, None)?;
        let open = self.push_view(&user_id, &view, false);
        Ok(Outcome::ok(json!({ "view": open.view })))
    }

    /// `views.update`: by `view_id` or `external_id` (neither: `invalid_arguments`; no such
    /// open view: `not_found`), optionally guarded by `hash` (`hash_conflict` when the view
    /// changed since).
    pub(crate) fn views_update(&mut self, params: &Params) -> Result<Outcome, Outcome> {
        let id = match (params.non_empty("view_id"), params.non_empty("external_id")) {
            (Some(view_id), _) => view_id,
            (None, Some(external_id)) => self
                .open_views
                .values()
                .find(|open| open.external_id() == external_id)
                .map(|open| open.id.clone())
                .ok_or_else(|| Outcome::error("not_found"))?,
            (None, None) => {
                return Err(invalid_view(
                    "either view_id or external_id is required [json-pointer:/]",
                ));
            }
        };
        let current = self
            .open_views
            .get(&id)
            .ok_or_else(|| Outcome::error("not_found"))?;
        if let Some(hash) = params.non_empty("hash")
            && hash != current.hash()
        {
            return Err(Outcome::error("hash_conflict"));
        }
        let view = Self::modal_argument(params)?;
        self.check_external_id(&view, Some(&id))?;
        let open = self
            .replace_view(&id, &view)
            .ok_or_else(|| Outcome::error("not_found"))?;
        Ok(Outcome::ok(json!({ "view": open.view })))
    }
}

// ---- what a person does in Slack's client ---------------------------------------------------

/// The options an element offers (`options`, or those of its `option_groups`).
fn offered_options(element: &Value) -> Vec<(String, String)> {
    let mut listed: Vec<&Value> = element
        .get("options")
        .and_then(Value::as_array)
        .map(|options| options.iter().collect())
        .unwrap_or_default();
    if let Some(groups) = element.get("option_groups").and_then(Value::as_array) {
        for group in groups {
            if let Some(options) = group.get("options").and_then(Value::as_array) {
                listed.extend(options.iter());
            }
        }
    }
    listed
        .into_iter()
        .filter_map(|option| {
            let value = option.get("value")?.as_str()?.to_string();
            let text = option.pointer("/text/text")?.as_str()?.to_string();
            Some((value, text))
        })
        .collect()
}

/// Whether a state entry holds nothing (the person left the element empty).
fn state_is_empty(state: &Value) -> bool {
    state
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .filter(|(key, _)| key.as_str() != "type")
                .all(|(_, value)| match value {
                    Value::Null => true,
                    Value::String(text) => text.is_empty(),
                    Value::Array(items) => items.is_empty(),
                    _ => false,
                })
        })
        .unwrap_or(true)
}

fn impossible(why: String) -> StandinError {
    StandinError::Impossible(why)
}

impl World {
    /// The handle of `user_id` (as interactivity payloads carry it).
    fn user_name(&self, user_id: &str) -> Result<String, StandinError> {
        Ok(self.require_user(user_id)?.name.clone())
    }

    /// `user_id`'s top view, which must be `view_id`: only the top view of a stack can be
    /// submitted, typed into or cancelled.
    fn top_view(&self, user_id: &str, view_id: &str) -> Result<OpenView, StandinError> {
        let top = self
            .view_stacks
            .get(user_id)
            .and_then(|stack| stack.last())
            .filter(|top| *top == view_id)
            .and_then(|top| self.open_views.get(top))
            .ok_or_else(|| StandinError::UnknownView(view_id.to_string()))?;
        Ok(top.clone())
    }

    pub(crate) fn shortcut(
        &mut self,
        user_id: &str,
        callback_id: &str,
    ) -> Result<Shortcut, StandinError> {
        let user_name = self.user_name(user_id)?;
        let trigger_id = self.issue_trigger(user_id)?;
        let mut shortcut =
            Shortcut::new(&self.config.team_id, user_id, callback_id).with_trigger_id(&trigger_id);
        shortcut.user_name = user_name;
        shortcut.team_domain.clone_from(&self.config.team_domain);
        shortcut.api_app_id.clone_from(&self.config.app_id);
        Ok(shortcut)
    }

    pub(crate) fn message_action(
        &mut self,
        user_id: &str,
        channel_id: &str,
        message_ts: &str,
        callback_id: &str,
        response_token: &str,
    ) -> Result<MessageAction, StandinError> {
        let user_name = self.user_name(user_id)?;
        let channel = self
            .channels
            .get(channel_id)
            .ok_or_else(|| StandinError::UnknownChannel(channel_id.to_string()))?;
        if channel.is_private && !channel.has_member(user_id) {
            return Err(impossible(format!(
                "{user_id} cannot see the private channel {channel_id}"
            )));
        }
        let message = channel
            .messages
            .iter()
            .find(|message| message.ts == message_ts)
            .ok_or_else(|| {
                StandinError::UnknownMessage(channel_id.to_string(), message_ts.to_string())
            })?;
        let message_json = self.message_json(message);
        let channel_name = channel.name.clone();
        let trigger_id = self.issue_trigger(user_id)?;
        self.response_urls
            .entry(response_token.to_string())
            .or_default()
            .channel = Some(channel_id.to_string());
        let response_url = self.response_url(response_token);
        let mut action = MessageAction::new(
            &self.config.team_id,
            user_id,
            channel_id,
            callback_id,
            message_json,
        )
        .with_trigger_id(&trigger_id)
        .with_response_url(&response_url);
        action.user_name = user_name;
        action.channel_name = channel_name;
        action.team_domain.clone_from(&self.config.team_domain);
        action.api_app_id.clone_from(&self.config.app_id);
        Ok(action)
    }

    /// Checks `value` against `element` as Slack's client would let a person enter it, and
    /// puts in the shown texts of chosen options.
    fn check_input(
        &self,
        block_id: &str,
        action_id: &str,
        element: &Value,
        value: &mut InputValue,
    ) -> Result<(), StandinError> {
        let kind = element.get("type").and_then(Value::as_str).unwrap_or("");
        let at = format!("{block_id}/{action_id}");
        if kind != value.element_type() {
            return Err(impossible(format!(
                "{at} is a {kind}, not a {}",
                value.element_type()
            )));
        }
        if !matches!(value, InputValue::ExternalSelect(_)) {
            let offered = offered_options(element);
            for option in value.options_mut() {
                let text = offered
                    .iter()
                    .find(|(offered_value, _)| *offered_value == option.value)
                    .map(|(_, text)| text.clone())
                    .ok_or_else(|| {
                        impossible(format!("{at} offers no option {:?}", option.value))
                    })?;
                *option = SelectedOption::new(&text, &option.value);
            }
        }
        match &*value {
            InputValue::PlainText(text) => {
                let len = text.chars().count();
                let bound = |key: &str| element.get(key).and_then(Value::as_u64);
                if let Some(max) = bound("max_length")
                    && u64::try_from(len).unwrap_or(u64::MAX) > max
                {
                    return Err(impossible(format!("{at} takes at most {max} characters")));
                }
                if let Some(min) = bound("min_length")
                    && len > 0
                    && u64::try_from(len).unwrap_or(u64::MAX) < min
                {
                    return Err(impossible(format!("{at} needs at least {min} characters")));
                }
                if !element
                    .get("multiline")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    && text.contains('\n')
                {
                    return Err(impossible(format!("{at} is a single-line input")));
                }
            }
            InputValue::Datepicker(date)
                if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() =>
            {
                return Err(impossible(format!(
                    "{at}: {date:?} is not a YYYY-MM-DD date"
                )));
            }
            InputValue::UsersSelect(user) if !self.users.contains_key(user) => {
                return Err(impossible(format!("{at}: no user {user} to pick")));
            }
            InputValue::MultiUsersSelect(users) => {
                if let Some(user) = users.iter().find(|user| !self.users.contains_key(*user)) {
                    return Err(impossible(format!("{at}: no user {user} to pick")));
                }
            }
            InputValue::MultiStaticSelect(options) | InputValue::Checkboxes(options) => {
                if let Some(max) = element.get("max_selected_items").and_then(Value::as_u64)
                    && u64::try_from(options.len()).unwrap_or(u64::MAX) > max
                {
                    return Err(impossible(format!("{at} takes at most {max} options")));
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn view_submission(
        &mut self,
        user_id: &str,
        view_id: &str,
        values: Vec<(String, String, InputValue)>,
    ) -> Result<ViewSubmission, StandinError> {
        let open = self.top_view(user_id, view_id)?;
        let elements = elements(&open.view);
        let mut view = open.view.clone();
        for (block_id, action_id, mut value) in values {
            let (_, _, element) = elements
                .iter()
                .find(|(block, action, _)| *block == block_id && *action == action_id)
                .ok_or_else(|| {
                    impossible(format!(
                        "view {view_id} has no element {block_id}/{action_id}"
                    ))
                })?;
            self.check_input(&block_id, &action_id, element, &mut value)?;
            view["state"]["values"][&block_id][&action_id] = value.to_state();
        }
        // Slack's client does not submit a modal while a required input is empty.
        for block in open.blocks() {
            if block.get("type").and_then(Value::as_str) != Some("input")
                || block.get("optional").and_then(Value::as_bool) == Some(true)
            {
                continue;
            }
            let Some(block_id) = block.get("block_id").and_then(Value::as_str) else {
                continue;
            };
            let filled = view
                .pointer(&format!("/state/values/{block_id}"))
                .and_then(Value::as_object)
                .is_some_and(|actions| actions.values().any(|state| !state_is_empty(state)));
            if !filled {
                return Err(impossible(format!(
                    "the required input {block_id} of view {view_id} is empty"
                )));
            }
        }
        if let Some(stored) = self.open_views.get_mut(view_id) {
            stored.view["state"] = view["state"].clone();
        }
        let user_name = self.user_name(user_id)?;
        let trigger_id = self.issue_trigger(user_id)?;
        let mut submission =
            ViewSubmission::new(&self.config.team_id, user_id, view).with_trigger_id(&trigger_id);
        submission.user_name = user_name;
        submission.team_domain.clone_from(&self.config.team_domain);
        submission.api_app_id.clone_from(&self.config.app_id);
        Ok(submission)
    }

    /// Applies the app's answer to a `view_submission` of `view_id` as Slack does.
    pub(crate) fn answer_view_submission(
        &mut self,
        view_id: &str,
        answer: Option<&Value>,
    ) -> Result<ViewAnswer, StandinError> {
        let open = self
            .open_views
            .get(view_id)
            .cloned()
            .ok_or_else(|| StandinError::UnknownView(view_id.to_string()))?;
        let user_id = open.user_id.clone();
        let action = answer
            .and_then(|answer| answer.get("response_action"))
            .and_then(Value::as_str);
        let answer = answer.cloned().unwrap_or(Value::Null);
        let refused = |why: String| Ok(ViewAnswer::Refused(why));
        match action {
            None => {
                if !answer.is_null() && answer.as_object().is_none_or(|fields| !fields.is_empty()) {
                    return refused(format!("not an answer Slack understands: {answer}"));
                }
                self.close_views_from(&user_id, view_id);
                Ok(ViewAnswer::Closed)
            }
            Some("clear") => {
                self.close_stack(&user_id);
                Ok(ViewAnswer::Cleared)
            }
            Some("errors") => {
                let Some(errors) = answer.get("errors").and_then(Value::as_object) else {
                    return refused("response_action errors without an errors object".into());
                };
                let mut listed = Vec::new();
                for (block_id, message) in errors {
                    let is_input = open.block(block_id).is_some_and(|block| {
                        block.get("type").and_then(Value::as_str) == Some("input")
                    });
                    let Some(message) = message.as_str().filter(|_| is_input) else {
                        return refused(format!(
                            "errors names {block_id:?}, not an input block of view {view_id} with a text"
                        ));
                    };
                    listed.push((block_id.clone(), message.to_string()));
                }
                Ok(ViewAnswer::Errors(listed))
            }
            Some(kind @ ("update" | "push")) => {
                let Some(view) = answer.get("view") else {
                    return refused(format!("response_action {kind} without a view"));
                };
                if let Err(why) = check_view(view, "modal") {
                    return refused(why);
                }
                if let Err(Outcome::Error { code, .. }) =
                    self.check_external_id(view, (kind == "update").then_some(view_id))
                {
                    return refused(code);
                }
                if kind == "update" {
                    let updated = self
                        .replace_view(view_id, view)
                        .ok_or_else(|| StandinError::UnknownView(view_id.to_string()))?;
                    return Ok(ViewAnswer::Updated(updated));
                }
                if self.view_stacks.get(&user_id).map_or(0, Vec::len) >= MAX_VIEW_STACK {
                    return refused("push_limit_reached".into());
                }
                Ok(ViewAnswer::Pushed(self.push_view(&user_id, view, false)))
            }
            Some(other) => refused(format!("unknown response_action {other:?}")),
        }
    }

    /// Closes `view_id` and every view pushed on top of it.
    fn close_views_from(&mut self, user_id: &str, view_id: &str) {
        while let Some(top) = self
            .view_stacks
            .get(user_id)
            .and_then(|stack| stack.last())
            .cloned()
        {
            self.pop_view(user_id);
            if top == view_id {
                break;
            }
        }
    }

    pub(crate) fn close_view(
        &mut self,
        user_id: &str,
        view_id: &str,
        clear_all: bool,
    ) -> Result<Option<ViewClosed>, StandinError> {
        let open = self.top_view(user_id, view_id)?;
        let user_name = self.user_name(user_id)?;
        if clear_all {
            self.close_stack(user_id);
        } else {
            self.pop_view(user_id);
        }
        let notify = open
            .view
            .get("notify_on_close")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !notify {
            return Ok(None);
        }
        let mut closed = ViewClosed::new(&self.config.team_id, user_id, open.view, clear_all);
        closed.user_name = user_name;
        closed.team_domain.clone_from(&self.config.team_domain);
        closed.api_app_id.clone_from(&self.config.app_id);
        Ok(Some(closed))
    }

    pub(crate) fn block_suggestion(
        &self,
        user_id: &str,
        view_id: &str,
        block_id: &str,
        action_id: &str,
        typed: &str,
    ) -> Result<BlockSuggestion, StandinError> {
        let open = self.top_view(user_id, view_id)?;
        let (_, _, element) = elements(&open.view)
            .into_iter()
            .find(|(block, action, _)| block == block_id && action == action_id)
            .ok_or_else(|| {
                impossible(format!(
                    "view {view_id} has no element {block_id}/{action_id}"
                ))
            })?;
        let kind = element.get("type").and_then(Value::as_str).unwrap_or("");
        if !matches!(kind, "external_select" | "multi_external_select") {
            return Err(impossible(format!(
                "{block_id}/{action_id} is a {kind}: only external selects load options"
            )));
        }
        // Slack asks for options once `min_query_length` characters are typed (default 3).
        let min = element
            .get("min_query_length")
            .and_then(Value::as_u64)
            .unwrap_or(3);
        if u64::try_from(typed.chars().count()).unwrap_or(u64::MAX) < min {
            return Err(impossible(format!(
                "{block_id}/{action_id} loads options from {min} characters typed"
            )));
        }
        let mut suggestion = BlockSuggestion::new(
            &self.config.team_id,
            user_id,
            open.view,
            block_id,
            action_id,
            typed,
        );
        suggestion.user_name = self.user_name(user_id)?;
        suggestion.team_domain.clone_from(&self.config.team_domain);
        suggestion.api_app_id.clone_from(&self.config.app_id);
        Ok(suggestion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SlackStandinConfig;
    use crate::signing::{InputValue, SelectedOption};

    fn world() -> World {
        let mut world = World::new(SlackStandinConfig::default(), "http://127.0.0.1:1".into());
        world
            .add_user(crate::SeedUser::human(
                "U1",
                "ann",
                "Ann",
                "ann@example.com",
            ))
            .expect("user");
        world
    }

    fn modal() -> Value {
        json!({"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []})
    }

    #[test]
    fn a_trigger_expires_three_seconds_after_it_was_issued() {
        let mut world = world();
        let trigger = world.issue_trigger("U1").expect("trigger");
        let issued = world.triggers.get_mut(&trigger).expect("kept");
        issued.issued_at = Instant::now()
            .checked_sub(TRIGGER_TTL + Duration::from_millis(1))
            .expect("the clock is past 3 s");
        let params = Params::from_json(json!({"trigger_id": trigger, "view": modal()}));
        let refused = world.views_open(&params).expect_err("expired");
        assert_eq!(refused, Outcome::error("expired_trigger_id"));

        let fresh = world.issue_trigger("U1").expect("trigger");
        let issued = world.triggers.get_mut(&fresh).expect("kept");
        issued.issued_at = Instant::now()
            .checked_sub(TRIGGER_TTL - Duration::from_millis(100))
            .expect("the clock is past 3 s");
        let params = Params::from_json(json!({"trigger_id": fresh, "view": modal()}));
        assert!(
            world.views_open(&params).is_ok(),
            "2.9 s old is still valid"
        );
    }

    #[test]
    fn a_refused_view_still_uses_up_its_trigger() {
        let mut world = world();
        let trigger = world.issue_trigger("U1").expect("trigger");
        let bad = Params::from_json(json!({"trigger_id": trigger, "view": {"type": "modal"}}));
        assert!(
            matches!(world.views_open(&bad), Err(Outcome::Error { code, .. }) if code == "invalid_arguments")
        );
        let good = Params::from_json(json!({"trigger_id": trigger, "view": modal()}));
        assert_eq!(
            world.views_open(&good).expect_err("used up"),
            Outcome::error("exchanged_trigger_id")
        );
    }

    #[test]
    fn views_get_block_ids_and_initial_state_like_slack_answers_them() {
        let mut world = world();
        let view = json!({
            "type": "modal",
            "title": {"type": "plain_text", "text": "T"},
            "submit": {"type": "plain_text", "text": "Go"},
            "blocks": [{"type": "input", "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "name", "initial_value": "x"}}],
        });
        let open = world.push_view("U1", &view, true);
        let block_id = open.blocks()[0]["block_id"]
            .as_str()
            .expect("generated")
            .to_string();
        assert_eq!(
            open.view["state"]["values"][&block_id]["name"],
            json!({"type": "plain_text_input", "value": "x"})
        );
        let submission = world
            .view_submission(
                "U1",
                &open.id,
                vec![(
                    block_id.clone(),
                    "name".into(),
                    InputValue::PlainText("y".into()),
                )],
            )
            .expect("submitted");
        assert_eq!(
            submission.view["state"]["values"][&block_id]["name"]["value"],
            json!("y")
        );
        let wrong = world.view_submission(
            "U1",
            &open.id,
            vec![(
                block_id,
                "name".into(),
                InputValue::StaticSelect(SelectedOption::value("a")),
            )],
        );
        assert!(matches!(wrong, Err(StandinError::Impossible(_))));
    }
}
