/* The officer's own settings, read and saved through /api/v1/me/settings; a save is told to the
   other pages open in this browser, whose alarms re-read them. */
"use strict";

(async () => {
  const { api, page } = Parley;
  const form = document.getElementById("settings-form");
  const error = document.getElementById("settings-error");
  const result = document.getElementById("settings-result");
  const current = await api("GET", "/me/settings");
  form.elements.lang.value = current.lang;
  form.elements.time_zone.value = current.time_zone;
  form.elements.sound.checked = current.sound;
  form.elements.alarm_severity.value = current.alarm_severity;
  form.elements.alarm_exercise.checked = current.alarm_exercise;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    result.textContent = "";
    try {
      await api("PUT", "/me/settings", {
        lang: form.elements.lang.value,
        time_zone: form.elements.time_zone.value.trim(),
        sound: form.elements.sound.checked,
        alarm_severity: form.elements.alarm_severity.value,
        alarm_exercise: form.elements.alarm_exercise.checked,
      });
      Parley.settingsSaved(); // the other open pages' alarms follow at once
      window.location.reload();
      result.textContent = page.saved;
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });
  document.body.dataset.ready = "true";
})();
