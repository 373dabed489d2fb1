{{/* Names are the release name (a county, e.g. "xinping") plus the part. */}}
{{- define "ruralfund.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "ruralfund.labels" -}}
app.kubernetes.io/name: ruralfund
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector of one service's pods: (dict "root" $ "svc" "claims") */}}
{{- define "ruralfund.selector" -}}
app.kubernetes.io/name: ruralfund
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .svc }}
{{- end -}}

{{/* The service's NATS user: <natsNamespace>_<service>, as ruralfund.natsauth names it. */}}
{{- define "ruralfund.natsUser" -}}
{{- if .root.Values.natsNamespace -}}
{{- printf "%s_%s" .root.Values.natsNamespace .svc -}}
{{- else -}}
{{- .svc -}}
{{- end -}}
{{- end -}}

{{- define "ruralfund.pgRole" -}}
{{- printf "%s%s" .root.Values.postgres.rolePrefix .svc -}}
{{- end -}}

{{- define "ruralfund.pgAddress" -}}
{{- if .Values.postgres.address -}}
{{- .Values.postgres.address -}}
{{- else -}}
{{- printf "%s-pg-rw:5432" (include "ruralfund.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "ruralfund.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "ruralfund.appSecret" -}}
{{- default (printf "%s-app" (include "ruralfund.fullname" .)) .Values.secrets.appSecretName -}}
{{- end -}}

{{- define "ruralfund.objectStore" -}}
{{- default (printf "%s-backups" (include "ruralfund.fullname" .)) .Values.postgres.cnpg.backup.objectStoreName -}}
{{- end -}}
