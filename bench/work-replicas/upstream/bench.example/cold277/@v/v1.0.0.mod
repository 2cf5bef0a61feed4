module bench.example/cold277

go 1.21
