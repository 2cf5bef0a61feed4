module bench.example/cold299

go 1.21
