module bench.example/cold188

go 1.21
