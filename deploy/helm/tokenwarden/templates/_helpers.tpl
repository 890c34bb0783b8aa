{{- define "tokenwarden.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tokenwarden.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tokenwarden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokenwarden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tokenwarden.labels" -}}
{{ include "tokenwarden.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "tokenwarden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "tokenwarden.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "tokenwarden.pvcName" -}}
{{- .Values.state.persistence.existingClaim | default (printf "%s-data" (include "tokenwarden.fullname" .)) -}}
{{- end -}}

{{/* Refuse values that cannot work, with what to change. */}}
{{- define "tokenwarden.validate" -}}
{{- $replicas := int .Values.replicas -}}
{{- if eq .Values.state.type "sqlite" -}}
  {{- if gt $replicas 1 -}}
    {{- fail (printf "replicas: %d on an SQLite state: only one process may work on the SQLite journal (a file on a ReadWriteOnce volume). Set replicas: 1, or state.type: postgres for several (see values-ha.yaml)" $replicas) -}}
  {{- end -}}
{{- else if eq .Values.state.type "postgres" -}}
  {{- if not .Values.state.postgres.url.secretName -}}
    {{- fail "state.type postgres needs state.postgres.url.secretName: an existing Secret whose key (state.postgres.url.key) holds the postgres:// URL" -}}
  {{- end -}}
  {{- if not .Values.ageKey.secretName -}}
    {{- fail "state.type postgres needs ageKey.secretName: every replica must encrypt with the same age key (kubectl create secret generic tokenwarden-key --from-file=key=tokenwarden.key)" -}}
  {{- end -}}
{{- else -}}
  {{- fail (printf "state.type must be sqlite or postgres, not %q" .Values.state.type) -}}
{{- end -}}
{{- if lt $replicas 1 -}}
  {{- fail "replicas must be at least 1" -}}
{{- end -}}
{{- if not .Values.gitlab.url -}}
  {{- fail "gitlab.url is required (https://gitlab.example.com)" -}}
{{- end -}}
{{- if not (and .Values.gitlab.token.secretName .Values.gitlab.token.key) -}}
  {{- fail "gitlab.token.secretName and gitlab.token.key must name the Secret that holds the managing token" -}}
{{- end -}}
{{- if not (and .Values.dashboard.password.secretName .Values.dashboard.password.key) -}}
  {{- fail "dashboard.password.secretName and dashboard.password.key must name the Secret that holds the dashboard password" -}}
{{- end -}}
{{- range $k := list "gitlab" "state" "state_env" "key_file" -}}
  {{- if hasKey $.Values.config $k -}}
    {{- fail (printf "config.%s: the chart writes %s itself; set it in the chart's values (gitlab.url, state.type, ageKey)" $k $k) -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{/* tokenwarden.yaml: the values' config with what the chart sets. Only
     environment variable names, never a secret. */}}
{{- define "tokenwarden.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- $_ := set $cfg "gitlab" (dict "url" .Values.gitlab.url "token_env" "GITLAB_TOKEN") -}}
{{- if eq .Values.state.type "postgres" -}}
{{- $_ := set $cfg "state_env" "TOKENWARDEN_STATE" -}}
{{- else -}}
{{- $_ := set $cfg "state" "sqlite:///data/tokenwarden.db" -}}
{{- end -}}
{{- $serve := deepCopy (get $cfg "serve" | default dict) -}}
{{- $_ := set $serve "listen" (printf ":%d" (int .Values.service.port)) -}}
{{- $_ := set $serve "password_env" "TOKENWARDEN_PASSWORD" -}}
{{- if .Values.dashboard.readOnly -}}
{{- $_ := set $serve "read_only" true -}}
{{- end -}}
{{- $_ := set $cfg "serve" $serve -}}
{{- toYaml $cfg -}}
{{- end -}}
