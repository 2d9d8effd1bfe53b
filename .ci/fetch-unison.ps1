# Puts the official unison for Windows into vendor/unison/ (where build_exe.spec bundles it and
# the Windows test job puts it on PATH): bin/unison.exe from the project's release zip, and the
# DLLs beside it if it does not run without them.
param([string]$Version = $env:UNISON_VERSION)
$ErrorActionPreference = "Stop"
$zip = "unison-$Version-windows-x86_64.zip"
$url = "https://github.com/bcpierce00/unison/releases/download/v$Version/$zip"
Invoke-WebRequest $url -OutFile $zip
Expand-Archive $zip -DestinationPath unison-zip -Force
$exe = Get-ChildItem unison-zip -Recurse -Filter unison.exe | Select-Object -First 1
if (-not $exe) { throw "no unison.exe in $zip" }
New-Item -ItemType Directory -Force vendor/unison | Out-Null
Copy-Item $exe.FullName vendor/unison/
# It must run on its own, with nothing but Windows on PATH.
$saved = $env:PATH
$env:PATH = "$env:SystemRoot\System32"
& .\vendor\unison\unison.exe -version
if ($LASTEXITCODE -ne 0) {
  Write-Output "::warning::unison.exe needs the DLLs beside it in the zip; bundling them too"
  Copy-Item (Join-Path $exe.DirectoryName "*.dll") vendor/unison/
  & .\vendor\unison\unison.exe -version
  if ($LASTEXITCODE -ne 0) { throw "unison.exe does not run (exit code $LASTEXITCODE)" }
}
$env:PATH = $saved
