module bench.example/cold257

go 1.21
